import { answer, db } from "../../../../lib/db";
import { loadAll } from "../../../../lib/store";

// Never cached or prerendered: every request reads the database.
export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  return answer(async () => ({ conversations: await loadAll(await db()) }));
}
