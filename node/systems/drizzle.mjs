// drizzle-orm over @libsql/client, on a local file (drizzle) or the turso target
// (drizzle-turso: the design document's phase 3). Typed query-builder statements, the same
// ones the raw client runs; each op is one `db.batch` (one transaction, one HTTP request on a
// remote URL; drizzle's libsql batch begins it DEFERRED).
import { drizzle } from "drizzle-orm/libsql";
import { asc, desc, eq, inArray, sql as raw } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import * as sql from "./sql.mjs";
import { connect, describeClient, preloadClient } from "./libsql.mjs";
import { packageVersion } from "../versions.mjs";

export const synchronous = false;

export const conversations = sqliteTable("conversations", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const messages = sqliteTable("messages", {
  id: text("id").primaryKey(),
  conversationId: text("conversation_id").notNull().references(() => conversations.id, { onDelete: "cascade" }),
  role: text("role", { enum: ["user", "assistant"] }).notNull(),
  content: text("content").notNull(),
  createdAt: integer("created_at").notNull(),
});

const conversationColumns = {
  id: conversations.id, title: conversations.title, createdAt: conversations.createdAt, updatedAt: conversations.updatedAt,
};

export async function open(target, settings) {
  const client = await connect(target, settings);
  return new DrizzleStore(client, drizzle(client), target);
}

/** load_all's answer from the two typed selects (rows are objects keyed by the TS names). */
function assemble(conversationRows, messageRows) {
  const byId = new Map();
  for (const c of conversationRows) {
    c.messages = [];
    byId.set(c.id, c);
  }
  for (const m of messageRows) byId.get(m.conversationId).messages.push(m);
  return conversationRows;
}

class DrizzleStore {
  constructor(client, db, target) {
    this.client = client;
    this.db = db;
    this.target = target;
  }

  async schema() {
    await this.db.batch(sql.SCHEMA.map((statement) => this.db.run(raw.raw(statement))));
  }

  async preload(conversationList) {
    await preloadClient(this.client, this.target, conversationList);
  }

  selectConversations() {
    return this.db.select(conversationColumns).from(conversations).orderBy(desc(conversations.updatedAt), asc(conversations.id));
  }

  selectMessages() {
    return this.db.select().from(messages).orderBy(asc(messages.conversationId), asc(messages.createdAt), asc(messages.id));
  }

  async load_all() {
    const [conversationRows, messageRows] = await this.db.batch([this.selectConversations(), this.selectMessages()]);
    return assemble(conversationRows, messageRows);
  }

  async load_page(limit) {
    const page = this.db.select({ id: conversations.id }).from(conversations)
      .orderBy(desc(conversations.updatedAt), asc(conversations.id)).limit(limit);
    const [conversationRows, messageRows] = await this.db.batch([
      this.selectConversations().limit(limit),
      this.db.select().from(messages).where(inArray(messages.conversationId, page))
        .orderBy(asc(messages.conversationId), asc(messages.createdAt), asc(messages.id)),
    ]);
    return assemble(conversationRows, messageRows);
  }

  async create_conversation(c) {
    const { messages: initial, ...row } = c;
    const statements = [this.db.insert(conversations).values(row)];
    if (initial.length) statements.push(this.db.insert(messages).values(initial));
    await this.db.batch(statements);
  }

  async add_message(m) {
    await this.db.batch([
      this.db.insert(messages).values(m),
      this.db.update(conversations).set({ updatedAt: m.createdAt }).where(eq(conversations.id, m.conversationId)),
    ]);
  }

  async update_title(id, title, updatedAt) {
    await this.db.batch([this.db.update(conversations).set({ title, updatedAt }).where(eq(conversations.id, id))]);
  }

  async delete_conversation(id) {
    await this.db.batch([
      this.db.delete(messages).where(eq(messages.conversationId, id)),
      this.db.delete(conversations).where(eq(conversations.id, id)),
    ]);
  }

  async describe() {
    return {
      driver_version: `drizzle-orm ${packageVersion("drizzle-orm")}, @libsql/client ${packageVersion("@libsql/client")}`,
      ...(await describeClient(this.client, this.target, "one db.batch per op (BEGIN DEFERRED … COMMIT, drizzle's libsql batch)")),
    };
  }

  async close() {
    this.client.close();
  }
}
