import { answer, db } from "../../../../lib/db";
import { deleteConversation } from "../../../../lib/store";

export async function POST(request: Request): Promise<Response> {
  return answer(async () => {
    const { id } = await request.json();
    await deleteConversation(await db(), id);
  });
}
