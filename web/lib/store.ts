// The conversation store over any @libsql/client Client: the same code runs in the Next.js
// route handlers (the "file" client, @libsql/client) and in the browser page (the "web"
// client, @libsql/client/web, talking to Turso). So the two architectures differ only in where
// this code runs. The SQL mirrors backends/sql.py statement for statement.
import type { Client, InStatement, InValue, Row } from "@libsql/client";

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, created_at, id)",
];

const SELECT_CONVERSATIONS = "SELECT id, title, created_at, updated_at FROM conversations ORDER BY updated_at DESC, id";
const SELECT_MESSAGES =
  "SELECT id, conversation_id, role, content, created_at FROM messages ORDER BY conversation_id, created_at, id";
const INSERT_CONVERSATION = "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)";
const INSERT_MESSAGE = "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)";
const TOUCH_CONVERSATION = "UPDATE conversations SET updated_at = ? WHERE id = ?";
const UPDATE_TITLE = "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?";
// Messages are deleted explicitly, so the result does not depend on the foreign_keys setting.
const DELETE_MESSAGES = "DELETE FROM messages WHERE conversation_id = ?";
const DELETE_CONVERSATION = "DELETE FROM conversations WHERE id = ?";

export interface Message {
  id: string;
  conversation_id: string;
  role: "user" | "assistant";
  content: string;
  created_at: number;
}

export interface Conversation {
  id: string;
  title: string;
  created_at: number;
  updated_at: number;
  messages: Message[];
}

// Clients are created with intMode "bigint": an INTEGER column then arrives as a bigint and
// anything else (a REAL) as a number, so a timestamp stored with the wrong type is an error
// here instead of passing silently as a JavaScript number.
function integer(value: unknown, what: string): number {
  if (typeof value !== "bigint") {
    throw new Error(`${what} is stored as ${typeof value}, not INTEGER`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new Error(`${what} ${value} is beyond JavaScript's exact integers`);
  }
  return n;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw new Error(`${what} is stored as ${typeof value}, not TEXT`);
  }
  return value;
}

// Bound as INTEGER: a JavaScript number would be sent as a REAL.
function bigint(value: unknown, what: string): bigint {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new Error(`${what} must be an integer, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

function conversationRow(c: Conversation): InValue[] {
  return [text(c.id, "id"), text(c.title, "title"), bigint(c.created_at, "created_at"), bigint(c.updated_at, "updated_at")];
}

function messageRow(m: Message): InValue[] {
  return [text(m.id, "id"), text(m.conversation_id, "conversation_id"), text(m.role, "role"),
    text(m.content, "content"), bigint(m.created_at, "created_at")];
}

function assemble(conversationRows: Row[], messageRows: Row[]): Conversation[] {
  const byId = new Map<string, Conversation>();
  const ordered: Conversation[] = [];
  for (const r of conversationRows) {
    const c: Conversation = {
      id: text(r[0], "conversations.id"), title: text(r[1], "conversations.title"),
      created_at: integer(r[2], "conversations.created_at"), updated_at: integer(r[3], "conversations.updated_at"),
      messages: [],
    };
    byId.set(c.id, c);
    ordered.push(c);
  }
  for (const r of messageRows) {
    const cid = text(r[1], "messages.conversation_id");
    byId.get(cid)!.messages.push({
      id: text(r[0], "messages.id"), conversation_id: cid, role: text(r[2], "messages.role") as Message["role"],
      content: text(r[3], "messages.content"), created_at: integer(r[4], "messages.created_at"),
    });
  }
  return ordered;
}

export async function setupSchema(db: Client): Promise<void> {
  await db.batch(SCHEMA, "write");
}

// Both queries in one read transaction, so they see one snapshot (one request over HTTP).
export async function loadAll(db: Client): Promise<Conversation[]> {
  const [conversations, messages] = await db.batch([SELECT_CONVERSATIONS, SELECT_MESSAGES], "read");
  return assemble(conversations.rows, messages.rows);
}

// Each write op is one batch in "write" mode: BEGIN IMMEDIATE … COMMIT, one transaction
// (and one request over HTTP).
export async function createConversation(db: Client, c: Conversation): Promise<void> {
  const statements: InStatement[] = [{ sql: INSERT_CONVERSATION, args: conversationRow(c) }];
  for (const m of c.messages) {
    statements.push({ sql: INSERT_MESSAGE, args: messageRow(m) });
  }
  await db.batch(statements, "write");
}

export async function addMessage(db: Client, m: Message): Promise<void> {
  await db.batch([
    { sql: INSERT_MESSAGE, args: messageRow(m) },
    { sql: TOUCH_CONVERSATION, args: [bigint(m.created_at, "created_at"), text(m.conversation_id, "conversation_id")] },
  ], "write");
}

export async function updateTitle(db: Client, id: string, title: string, updatedAt: number): Promise<void> {
  await db.batch([{ sql: UPDATE_TITLE, args: [text(title, "title"), bigint(updatedAt, "updated_at"), text(id, "id")] }],
    "write");
}

export async function deleteConversation(db: Client, id: string): Promise<void> {
  await db.batch([
    { sql: DELETE_MESSAGES, args: [text(id, "id")] },
    { sql: DELETE_CONVERSATION, args: [text(id, "id")] },
  ], "write");
}

// Bulk insert for set-up (not timed): batches of PRELOAD_ROWS statements, one transaction each.
const PRELOAD_ROWS = 500;

export async function preload(db: Client, conversations: Conversation[]): Promise<void> {
  const statements: InStatement[] = conversations.map((c) => ({ sql: INSERT_CONVERSATION, args: conversationRow(c) }));
  for (const c of conversations) {
    for (const m of c.messages) {
      statements.push({ sql: INSERT_MESSAGE, args: messageRow(m) });
    }
  }
  for (let start = 0; start < statements.length; start += PRELOAD_ROWS) {
    await db.batch(statements.slice(start, start + PRELOAD_ROWS), "write");
  }
}

const SYNCHRONOUS_NAMES: Record<number, string> = { 0: "off", 1: "normal", 2: "full", 3: "extra" };

// The settings in force, read back from the engine the client talks to.
export async function settingsInForce(db: Client): Promise<Record<string, unknown>> {
  const [version, journal, synchronous, foreignKeys, busy] = await db.batch([
    "SELECT sqlite_version()", "PRAGMA journal_mode", "PRAGMA synchronous", "PRAGMA foreign_keys", "PRAGMA busy_timeout",
  ], "read");
  const first = (r: { rows: Row[] }) => r.rows[0][0];
  return {
    sqlite_version: first(version),
    settings: {
      journal_mode: String(first(journal)).toLowerCase(),
      synchronous: SYNCHRONOUS_NAMES[Number(first(synchronous))] ?? "unknown",
      foreign_keys: Boolean(Number(first(foreignKeys))),
      busy_timeout_ms: Number(first(busy)),
    },
  };
}
