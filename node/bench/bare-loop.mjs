// Bare Node loops of the five ops, for benchmarks/node_runner_vs_bare.py: each driver called
// directly (no system module, no runner, no JSON between calls), the same statements and
// settings as the systems, timed with the same process.hrtime.bigint() pair, load_all's two
// reads in one transaction and its rows grouped into conversation objects.
//
//   node bench/bare-loop.mjs '{"driver": "better-sqlite3"|"libsql"|"drizzle", "path": ..., "settings": {...}}'
//
// then one block per stdin line, {"steps": [[op, args, timed], ...]}, answered with
// {"ns": [...]}: the samples of the steps marked timed, in order. The untimed steps are the
// benchmark's restores (they keep the store at its stated size) and warm-up calls.
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { asc, desc, eq } from "drizzle-orm";
import * as sql from "../systems/sql.mjs";
import { conversations, messages } from "../systems/drizzle.mjs";

const config = JSON.parse(process.argv[2]);

function betterSqlite3(path, settings) {
  const db = new Database(path, { timeout: settings.busy_timeout_ms });
  for (const pragma of sql.settingPragmas(settings)) db.exec(pragma);
  const selectConversations = db.prepare(sql.SELECT_CONVERSATIONS).raw();
  const selectMessages = db.prepare(sql.SELECT_MESSAGES).raw();
  const insertConversation = db.prepare(sql.INSERT_CONVERSATION);
  const insertMessage = db.prepare(sql.INSERT_MESSAGE);
  const touch = db.prepare(sql.TOUCH_CONVERSATION);
  const retitle = db.prepare(sql.UPDATE_TITLE);
  const deleteMessages = db.prepare(sql.DELETE_MESSAGES);
  const deleteConversation = db.prepare(sql.DELETE_CONVERSATION);
  return {
    load_all: db.transaction(() => sql.assemble(selectConversations.all(), selectMessages.all())),
    create_conversation: db.transaction((c) => {
      insertConversation.run(c.id, c.title, c.createdAt, c.updatedAt);
      for (const m of c.messages) insertMessage.run(m.id, m.conversationId, m.role, m.content, m.createdAt);
    }).immediate,
    add_message: db.transaction((m) => {
      insertMessage.run(m.id, m.conversationId, m.role, m.content, m.createdAt);
      touch.run(m.createdAt, m.conversationId);
    }).immediate,
    update_title: db.transaction((id, title, updatedAt) => { retitle.run(title, updatedAt, id); }).immediate,
    delete_conversation: db.transaction((id) => {
      deleteMessages.run(id);
      deleteConversation.run(id);
    }).immediate,
  };
}

async function libsqlClient(path, settings) {
  const client = createClient({ url: `file:${path}`, concurrency: 1 });
  for (const pragma of sql.settingPragmas(settings)) await client.execute(pragma);
  return client;
}

async function libsql(path, settings) {
  const client = await libsqlClient(path, settings);
  return {
    load_all: async () => {
      const [cs, ms] = await client.batch([sql.SELECT_CONVERSATIONS, sql.SELECT_MESSAGES], "deferred");
      return sql.assemble(cs.rows, ms.rows);
    },
    create_conversation: (c) => client.batch([
      { sql: sql.INSERT_CONVERSATION, args: [c.id, c.title, c.createdAt, c.updatedAt] },
      ...c.messages.map((m) => ({ sql: sql.INSERT_MESSAGE, args: [m.id, m.conversationId, m.role, m.content, m.createdAt] })),
    ], "write"),
    add_message: (m) => client.batch([
      { sql: sql.INSERT_MESSAGE, args: [m.id, m.conversationId, m.role, m.content, m.createdAt] },
      { sql: sql.TOUCH_CONVERSATION, args: [m.createdAt, m.conversationId] },
    ], "write"),
    update_title: (id, title, updatedAt) => client.batch([{ sql: sql.UPDATE_TITLE, args: [title, updatedAt, id] }], "write"),
    delete_conversation: (id) => client.batch([
      { sql: sql.DELETE_MESSAGES, args: [id] }, { sql: sql.DELETE_CONVERSATION, args: [id] },
    ], "write"),
  };
}

async function drizzleOrm(path, settings) {
  const db = drizzle(await libsqlClient(path, settings));
  return {
    load_all: async () => {
      const [cs, ms] = await db.batch([
        db.select({ id: conversations.id, title: conversations.title, createdAt: conversations.createdAt, updatedAt: conversations.updatedAt })
          .from(conversations).orderBy(desc(conversations.updatedAt), asc(conversations.id)),
        db.select().from(messages).orderBy(asc(messages.conversationId), asc(messages.createdAt), asc(messages.id)),
      ]);
      const byId = new Map(cs.map((c) => [c.id, Object.assign(c, { messages: [] })]));
      for (const m of ms) byId.get(m.conversationId).messages.push(m);
      return cs;
    },
    create_conversation: ({ messages: initial, ...row }) => db.batch([
      db.insert(conversations).values(row), ...(initial.length ? [db.insert(messages).values(initial)] : []),
    ]),
    add_message: (m) => db.batch([
      db.insert(messages).values(m),
      db.update(conversations).set({ updatedAt: m.createdAt }).where(eq(conversations.id, m.conversationId)),
    ]),
    update_title: (id, title, updatedAt) => db.batch([
      db.update(conversations).set({ title, updatedAt }).where(eq(conversations.id, id)),
    ]),
    delete_conversation: (id) => db.batch([
      db.delete(messages).where(eq(messages.conversationId, id)), db.delete(conversations).where(eq(conversations.id, id)),
    ]),
  };
}

const DRIVERS = { "better-sqlite3": betterSqlite3, libsql, drizzle: drizzleOrm };
const ops = await DRIVERS[config.driver](config.path, config.settings);
const synchronous = config.driver === "better-sqlite3";

/** One call's nanoseconds. A function of its own: a local of `block` (the call's promise, and
 * with it load_all's answer) would stay referenced by block's suspended frame until the next call. */
async function timedCall(op, args) {
  const t0 = process.hrtime.bigint();
  const pending = op(...args);
  if (!synchronous) await pending;
  return Number(process.hrtime.bigint() - t0);
}

async function block(steps) {
  const ns = [];
  for (const [name, args, timed] of steps) {
    const sample = await timedCall(ops[name], args);
    if (timed) ns.push(sample);
  }
  return ns;
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  process.stdout.write(JSON.stringify({ ns: await block(JSON.parse(line).steps) }) + "\n");
}
