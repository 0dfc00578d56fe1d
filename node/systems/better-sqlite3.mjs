// better-sqlite3 on a local file: synchronous API, each statement prepared once (on first use:
// the tables may not exist at open), one `db.transaction(...).immediate` (BEGIN IMMEDIATE) per
// write op, load_all's two reads in one deferred transaction.
import Database from "better-sqlite3";
import * as sql from "./sql.mjs";
import { packageVersion } from "../versions.mjs";

export const synchronous = true;

export function open(target, settings) {
  const db = new Database(target.path, { timeout: settings.busy_timeout_ms });
  // better-sqlite3's own defaults are a rollback journal and synchronous FULL: the run's
  // settings are applied (and read back) like every other backend's.
  for (const pragma of sql.settingPragmas(settings)) db.exec(pragma);
  return new BetterSqliteStore(db);
}

class BetterSqliteStore {
  constructor(db) {
    this.db = db;
    this.prepared = new Map();
    // Values are bound as positional arguments: an array bound as one argument cost
    // better-sqlite3 about 0.4 µs more per statement (create_conversation +6 %, docs/node.md).
    const run = (text, ...args) => this.statement(text).run(...args);
    const all = (text, ...args) => this.statement(text).raw().all(...args);
    this.read = db.transaction((conversations, messages, args) => sql.assemble(all(conversations, ...args), all(messages, ...args)));
    this.insert = db.transaction((conversations) => {
      for (const c of conversations) {
        run(sql.INSERT_CONVERSATION, ...sql.conversationRow(c));
        for (const m of c.messages) run(sql.INSERT_MESSAGE, ...sql.messageRow(m));
      }
    }).immediate;
    this.addMessage = db.transaction((m) => {
      run(sql.INSERT_MESSAGE, ...sql.messageRow(m));
      run(sql.TOUCH_CONVERSATION, m.createdAt, m.conversationId);
    }).immediate;
    this.updateTitle = db.transaction((id, title, updatedAt) => run(sql.UPDATE_TITLE, title, updatedAt, id)).immediate;
    this.deleteConversation = db.transaction((id) => {
      run(sql.DELETE_MESSAGES, id);
      run(sql.DELETE_CONVERSATION, id);
    }).immediate;
  }

  statement(text) {
    let statement = this.prepared.get(text);
    if (statement === undefined) {
      statement = this.db.prepare(text);
      this.prepared.set(text, statement);
    }
    return statement;
  }

  schema() {
    this.db.transaction(() => { for (const statement of sql.SCHEMA) this.db.exec(statement); }).immediate();
  }

  preload(conversations) {
    this.insert(conversations);
  }

  load_all() {
    return this.read(sql.SELECT_CONVERSATIONS, sql.SELECT_MESSAGES, []);
  }

  load_page(limit) {
    return this.read(sql.SELECT_PAGE, sql.SELECT_PAGE_MESSAGES, [limit]);
  }

  create_conversation(c) {
    this.insert([c]);
  }

  add_message(m) {
    this.addMessage(m);
  }

  update_title(id, title, updatedAt) {
    this.updateTitle(id, title, updatedAt);
  }

  delete_conversation(id) {
    this.deleteConversation(id);
  }

  describe() {
    const one = (text) => this.db.prepare(text).pluck().get();
    return {
      driver_version: `better-sqlite3 ${packageVersion("better-sqlite3")}`,
      sqlite_version: one("SELECT sqlite_version()"),
      settings: sql.settingsFrom(...sql.READ_BACK.map(one), "BEGIN IMMEDIATE per write op"),
    };
  }

  close() {
    this.db.close();
  }
}
