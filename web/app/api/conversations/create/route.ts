import { answer, db } from "../../../../lib/db";
import { createConversation } from "../../../../lib/store";

export async function POST(request: Request): Promise<Response> {
  return answer(async () => {
    const { conversation } = await request.json();
    await createConversation(await db(), conversation);
  });
}
