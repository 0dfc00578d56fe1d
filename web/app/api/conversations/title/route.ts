import { answer, db } from "../../../../lib/db";
import { updateTitle } from "../../../../lib/store";

export async function POST(request: Request): Promise<Response> {
  return answer(async () => {
    const { id, title, updated_at } = await request.json();
    await updateTitle(await db(), id, title, updated_at);
  });
}
