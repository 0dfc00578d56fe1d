// The workload's SQL, statement for statement the same as backends/sql.py (a test compares
// them), and the assembly of load_all's answer from its two ordered result sets.

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

export const SELECT_CONVERSATIONS = "SELECT id, title, created_at, updated_at FROM conversations ORDER BY updated_at DESC, id";
export const SELECT_MESSAGES =
  "SELECT id, conversation_id, role, content, created_at FROM messages ORDER BY conversation_id, created_at, id";
export const SELECT_PAGE = SELECT_CONVERSATIONS + " LIMIT ?";
export const SELECT_PAGE_MESSAGES =
  "SELECT id, conversation_id, role, content, created_at FROM messages WHERE conversation_id IN " +
  "(SELECT id FROM conversations ORDER BY updated_at DESC, id LIMIT ?) ORDER BY conversation_id, created_at, id";
export const INSERT_CONVERSATION = "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)";
export const INSERT_MESSAGE = "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)";
export const TOUCH_CONVERSATION = "UPDATE conversations SET updated_at = ? WHERE id = ?";
export const UPDATE_TITLE = "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?";
// Messages are deleted explicitly, so the result does not depend on the foreign_keys setting.
export const DELETE_MESSAGES = "DELETE FROM messages WHERE conversation_id = ?";
export const DELETE_CONVERSATION = "DELETE FROM conversations WHERE id = ?";

export const SYNCHRONOUS_NAMES = { 0: "off", 1: "normal", 2: "full", 3: "extra" };

export const conversationRow = (c) => [c.id, c.title, c.createdAt, c.updatedAt];
export const messageRow = (m) => [m.id, m.conversationId, m.role, m.content, m.createdAt];

/** load_all's answer as an app holds it: conversations with their messages (two queries, no N+1). */
export function assemble(conversationRows, messageRows) {
  const byId = new Map();
  const ordered = [];
  // Rows are read by index: @libsql/client's rows are array-like objects, not iterables.
  for (const r of conversationRows) {
    const conversation = { id: r[0], title: r[1], createdAt: r[2], updatedAt: r[3], messages: [] };
    byId.set(r[0], conversation);
    ordered.push(conversation);
  }
  for (const r of messageRows) {
    byId.get(r[1]).messages.push({ id: r[0], conversationId: r[1], role: r[2], content: r[3], createdAt: r[4] });
  }
  return ordered;
}

/** The settings read back from the engine, in the shape of the Python backends' describe(). */
export function settingsFrom(journalMode, synchronous, foreignKeys, busyTimeout, transactions) {
  return {
    journal_mode: String(journalMode).toLowerCase(),
    synchronous: SYNCHRONOUS_NAMES[Number(synchronous)] ?? "unknown",
    foreign_keys: Boolean(Number(foreignKeys)),
    busy_timeout_ms: Number(busyTimeout),
    transactions,
  };
}

/**
 * The PRAGMAs that apply the run's fairness settings to one connection. busy_timeout comes
 * first: journal_mode needs a lock, and with several writers opening the same file at once
 * (concurrency runs) it otherwise failed with SQLITE_BUSY instead of waiting.
 */
export function settingPragmas(settings) {
  return [
    `PRAGMA busy_timeout=${Math.trunc(settings.busy_timeout_ms)}`,
    `PRAGMA journal_mode=${settings.journal_mode}`,
    `PRAGMA synchronous=${settings.synchronous}`,
    `PRAGMA foreign_keys=${settings.foreign_keys ? "ON" : "OFF"}`,
  ];
}

export const READ_BACK = ["PRAGMA journal_mode", "PRAGMA synchronous", "PRAGMA foreign_keys", "PRAGMA busy_timeout"];
