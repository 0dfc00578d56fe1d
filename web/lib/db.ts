// The route handlers' database: one @libsql/client "file" client per server process, opened on
// first use with the run's fair settings (as every storebench backend sets them) and the schema.
// The harness passes the file and settings in environment variables (see backends/nextjs_routes.py).
import { createClient, type Client } from "@libsql/client";
import { setupSchema } from "./store";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: the harness sets it to the database file and settings`);
  }
  return value;
}

async function open(): Promise<Client> {
  const db = createClient({
    url: `file:${required("STOREBENCH_DB")}`,
    intMode: "bigint",
    // One connection: the per-connection settings below then hold for every query. The driver
    // is synchronous, so a second pooled connection would only serve an interactive
    // transaction held across an await, which these routes never open.
    concurrency: 1,
  });
  await db.execute(`PRAGMA journal_mode=${required("STOREBENCH_JOURNAL_MODE")}`);
  await db.execute(`PRAGMA synchronous=${required("STOREBENCH_SYNCHRONOUS")}`);
  await db.execute(`PRAGMA foreign_keys=${required("STOREBENCH_FOREIGN_KEYS") === "1" ? "ON" : "OFF"}`);
  await db.execute(`PRAGMA busy_timeout=${Number(required("STOREBENCH_BUSY_TIMEOUT_MS"))}`);
  await setupSchema(db);
  return db;
}

let client: Promise<Client> | null = null;

export function db(): Promise<Client> {
  client ??= open().catch((error) => {
    client = null; // the next request tries again and reports the same error if it persists
    throw error;
  });
  return client;
}

// Every route answers a failure with JSON {error} and status 500, like the Python api-routes server.
export async function answer(work: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json((await work()) ?? { ok: true });
  } catch (error) {
    return Response.json({ error: error instanceof Error ? error.message : String(error) }, { status: 500 });
  }
}
