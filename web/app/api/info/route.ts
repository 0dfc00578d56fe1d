// Not one of the design's five routes: the harness's read-back of versions and the settings in
// force (also opens the database and creates the schema, so the first timed op does not).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { answer, db } from "../../../lib/db";
import { settingsInForce } from "../../../lib/store";

export const dynamic = "force-dynamic";

function version(pkg: string): string {
  return JSON.parse(readFileSync(join(process.cwd(), "node_modules", pkg, "package.json"), "utf8")).version;
}

export async function GET(): Promise<Response> {
  return answer(async () => ({
    ...(await settingsInForce(await db())),
    driver_version: version("@libsql/client"),
    stack: { next: version("next"), react: version("react"), node: process.version },
  }));
}
