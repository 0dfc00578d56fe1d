// @libsql/client, the design document's database layer: on a local file (node-libsql), over
// HTTP to sqld (node-sqld) or to a libsql:// database with a token (node-turso).
//
// Every op is one `client.batch`: one transaction (BEGIN IMMEDIATE for writes, BEGIN DEFERRED
// for load_all's two reads, so they see one snapshot), and one HTTP request on a remote URL.
import { createClient } from "@libsql/client";
import * as sql from "./sql.mjs";
import { packageVersion } from "../versions.mjs";

export const synchronous = false;
const PRELOAD_BATCH = 50; // statements per remote batch, well within sqld's request limits

/**
 * The client the libsql-based systems (this one, drizzle) share. On a file, the client keeps a
 * small pool of connections; PRAGMA synchronous, foreign_keys and busy_timeout hold per
 * connection, so it gets one (concurrency 1: the harness is one client, one op at a time), and
 * the settings stay in force on every op (read back after the run to show it).
 */
export async function connect(target, settings) {
  const file = target.path != null;
  const client = createClient({
    url: file ? `file:${target.path}` : target.url,
    authToken: target.auth_token ?? undefined,
    ...(file ? { concurrency: 1 } : { fetch: timedFetch(settings.op_timeout_s) }),
  });
  if (file) {
    for (const pragma of sql.settingPragmas(settings)) await client.execute(pragma);
  } else {
    await client.execute("SELECT 1"); // connect (and authenticate) now, not in the first op
  }
  return client;
}

/** fetch with the run's op timeout: a remote call that gets no answer fails instead of hanging. */
function timedFetch(timeoutS) {
  return (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutS * 1000) });
}

/** Versions and settings read back from the engine through `client`. */
export async function describeClient(client, target, transactions) {
  const [version, ...settings] = await Promise.all(
    ["SELECT sqlite_version()", ...sql.READ_BACK].map(async (q) => (await client.execute(q)).rows[0][0]),
  );
  const info = { sqlite_version: version, settings: sql.settingsFrom(...settings, transactions) };
  if (target.path == null) info.settings.note = "read back from the server; sqld rejects PRAGMA journal_mode/synchronous/busy_timeout over Hrana, so these are its own settings";
  return info;
}

export async function preloadClient(client, target, conversations) {
  const rows = conversations.map((c) => ({ sql: sql.INSERT_CONVERSATION, args: sql.conversationRow(c) }));
  for (const c of conversations) {
    for (const m of c.messages) rows.push({ sql: sql.INSERT_MESSAGE, args: sql.messageRow(m) });
  }
  const size = target.path != null ? rows.length : PRELOAD_BATCH;
  for (let i = 0; i < rows.length; i += size) await client.batch(rows.slice(i, i + size), "write");
}

export async function open(target, settings) {
  return new LibsqlStore(await connect(target, settings), target);
}

class LibsqlStore {
  constructor(client, target) {
    this.client = client;
    this.target = target;
  }

  async schema() {
    await this.client.batch(sql.SCHEMA, "write");
  }

  async preload(conversations) {
    await preloadClient(this.client, this.target, conversations);
  }

  async load_all() {
    const [conversations, messages] = await this.client.batch([sql.SELECT_CONVERSATIONS, sql.SELECT_MESSAGES], "deferred");
    return sql.assemble(conversations.rows, messages.rows);
  }

  async load_page(limit) {
    const [conversations, messages] = await this.client.batch([
      { sql: sql.SELECT_PAGE, args: [limit] }, { sql: sql.SELECT_PAGE_MESSAGES, args: [limit] },
    ], "deferred");
    return sql.assemble(conversations.rows, messages.rows);
  }

  async create_conversation(c) {
    const statements = [{ sql: sql.INSERT_CONVERSATION, args: sql.conversationRow(c) }];
    for (const m of c.messages) statements.push({ sql: sql.INSERT_MESSAGE, args: sql.messageRow(m) });
    await this.client.batch(statements, "write");
  }

  async add_message(m) {
    await this.client.batch([
      { sql: sql.INSERT_MESSAGE, args: sql.messageRow(m) },
      { sql: sql.TOUCH_CONVERSATION, args: [m.createdAt, m.conversationId] },
    ], "write");
  }

  async update_title(id, title, updatedAt) {
    await this.client.batch([{ sql: sql.UPDATE_TITLE, args: [title, updatedAt, id] }], "write");
  }

  async delete_conversation(id) {
    await this.client.batch([
      { sql: sql.DELETE_MESSAGES, args: [id] }, { sql: sql.DELETE_CONVERSATION, args: [id] },
    ], "write");
  }

  async describe() {
    return {
      driver_version: `@libsql/client ${packageVersion("@libsql/client")}`,
      ...(await describeClient(this.client, this.target, this.target.path != null
        ? "BEGIN IMMEDIATE per write op" : "one client.batch per op (BEGIN IMMEDIATE … COMMIT in one HTTP request)")),
    };
  }

  async close() {
    this.client.close();
  }
}
