import { answer, db } from "../../../../lib/db";
import { addMessage } from "../../../../lib/store";

export async function POST(request: Request): Promise<Response> {
  return answer(async () => {
    const { message } = await request.json();
    await addMessage(await db(), message);
  });
}
