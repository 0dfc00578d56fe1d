// A bare Node loop of add_message's statements, for benchmarks/node_runner_vs_bare.py: the
// driver called directly (no system module, no runner, no JSON between calls), the same
// statements and settings, timed with the same process.hrtime.bigint() pair.
//
//   node bench/bare-loop.mjs '{"driver": "better-sqlite3"|"libsql", "path": ..., "n": ..., "warmup": ..., "prefix": ..., "start_ms": ...}'
// prints {"ns": [...]} (the n timed samples, after `warmup` untimed ones).
import Database from "better-sqlite3";
import { createClient } from "@libsql/client";
import { INSERT_MESSAGE, TOUCH_CONVERSATION, settingPragmas } from "../systems/sql.mjs";

const { driver, path, n, warmup, prefix, start_ms: startMs } = JSON.parse(process.argv[2]);
const settings = { journal_mode: "wal", synchronous: "normal", foreign_keys: true, busy_timeout_ms: 5000 };
const body = "x".repeat(400);

async function addMessageLoop() {
  if (driver === "better-sqlite3") {
    const db = new Database(path, { timeout: 5000 });
    for (const pragma of settingPragmas(settings)) db.exec(pragma);
    const insert = db.prepare(INSERT_MESSAGE);
    const touch = db.prepare(TOUCH_CONVERSATION);
    const add = db.transaction((id, at) => {
      insert.run(id, "c1", "user", body, at);
      touch.run(at, "c1");
    }).immediate;
    return (id, at) => { add(id, at); }; // synchronous: nothing to await, as in the runner
  }
  const client = createClient({ url: `file:${path}`, concurrency: 1 });
  for (const pragma of settingPragmas(settings)) await client.execute(pragma);
  return (id, at) => client.batch([
    { sql: INSERT_MESSAGE, args: [id, "c1", "user", body, at] },
    { sql: TOUCH_CONVERSATION, args: [at, "c1"] },
  ], "write");
}

const add = await addMessageLoop();
const ns = [];
for (let i = 0; i < warmup + n; i++) {
  const t0 = process.hrtime.bigint();
  const pending = add(`${prefix}${i}`, startMs + i);
  if (pending !== undefined) await pending;
  const t1 = process.hrtime.bigint();
  if (i >= warmup) ns.push(Number(t1 - t0));
}
console.log(JSON.stringify({ ns }));
