// The generic Node runner: storebench's Python harness drives one system (a module in
// systems/) through it, one JSON request per line on stdin, one JSON answer per line on stdout.
//
//   {"op": "open", "system": "libsql", "target": {...}, "settings": {...}, "counter": spec|null}
//   {"op": "call", "name": "add_message", "args": [...], "reply": "value"|"count"}
//   {"op": "plan", "steps": [["add_message", [...]], ...]}   time each step, in order; the answer
//                                                          also has the store size each load_all returned
//   {"op": "floor", "n": 20000}                               the runner's own cost per sample
//   {"op": "close"}
//
// Answers: {"ok": true, ...} or {"ok": false, "error": "Name: message"}. Only the system's call
// is timed, with process.hrtime.bigint() around it (an async call until its promise settles);
// decoding the request and encoding the answer are not. Conversations travel as arrays:
// [id, title, createdAt, updatedAt, [[id, conversationId, role, content, createdAt], ...]]
// on the way back; arguments arrive as objects with the same (camelCase) names.
import { createInterface } from "node:readline";
import { closeSync, openSync, readSync } from "node:fs";

const SYSTEMS = new Set(["libsql", "drizzle", "prisma", "better-sqlite3"]);
const RETURNS_CONVERSATIONS = new Set(["load_all", "load_page"]);
const OPS = new Set(["schema", "preload", "load_all", "load_page", "create_conversation", "add_message",
  "update_title", "delete_conversation", "describe"]);

let store = null;
let isSync = false;
let counter = null;

/** Nanoseconds one call of `fn` takes; a promise it returns is awaited inside the timing. */
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const result = fn();
  if (!isSync) await result;
  return Number(process.hrtime.bigint() - t0);
}

function call(name, args) {
  if (!OPS.has(name)) throw new Error(`unknown op ${JSON.stringify(name)}`);
  return store[name](...args);
}

function conversationsToWire(conversations) {
  return conversations.map((c) => [c.id, c.title, c.createdAt, c.updatedAt,
    c.messages.map((m) => [m.id, m.conversationId, m.role, m.content, m.createdAt])]);
}

/** JSON with integers kept integers: a BigInt (Prisma's BigInt columns) becomes a JSON integer. */
function encode(answer) {
  return JSON.stringify(answer, (key, value) => {
    if (typeof value !== "bigint") return value;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`integer ${value} is beyond 2^53 and cannot travel as a JSON number`);
    }
    return Number(value);
  });
}

function errorText(error) {
  let text = `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
  for (let cause = error?.cause; cause; cause = cause.cause) text += ` (caused by ${cause.name}: ${cause.message})`;
  return text;
}

/** Round trips on the wire so far, read outside the timed region: the WAN proxy's counter
 * file (a little-endian int64 at offset 0), or sqld's HTTP response metric. */
function makeCounter(spec) {
  if (!spec) return null;
  if (spec.file) {
    const fd = openSync(spec.file, "r");
    const buffer = Buffer.alloc(8);
    return { read: async () => (readSync(fd, buffer, 0, 8, 0), Number(buffer.readBigInt64LE(0))), close: () => closeSync(fd) };
  }
  return {
    read: async () => {
      const text = await (await fetch(spec.metrics_url)).text();
      let total = 0;
      for (const line of text.split("\n")) {
        if (line.startsWith(`${spec.metric}{`)) total += Math.trunc(Number(line.slice(line.lastIndexOf(" ") + 1)));
      }
      return total;
    },
    close: () => {},
  };
}

/**
 * One step of a plan: its time, and for load_all the store size it returned (counted after the
 * clock read, as the Python side does). A function of its own so that nothing of the answer
 * outlives the step: a local of `plan` stays referenced by its suspended frame through the
 * awaits that follow, which kept each load_all's answer (4 MB at the quick size) alive during
 * the next load_all, whose young-generation collections then copied it (docs/node.md).
 */
async function step(name, args) {
  let value;
  const ns = await timed(() => (value = call(name, args)));
  return { ns, size: name === "load_all" ? storeSize(await value) : null };
}

function storeSize(conversations) {
  return [conversations.length, conversations.reduce((total, c) => total + c.messages.length, 0)];
}

async function plan(steps) {
  const ns = [];
  const errors = {};
  const trips = counter ? [] : null;
  const sizes = {}; // step index -> [conversations, messages] that load_all returned
  for (let i = 0; i < steps.length; i++) {
    const [name, args] = steps[i];
    const before = counter ? await counter.read() : 0;
    try {
      const done = await step(name, args);
      ns.push(done.ns);
      if (done.size) sizes[i] = done.size;
    } catch (error) {
      ns.push(null);
      errors[i] = errorText(error);
    }
    if (counter) trips.push((await counter.read()) - before);
  }
  return { ns, errors, trips, sizes };
}

async function floor(n) {
  const nothing = isSync ? () => undefined : async () => undefined;
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await timed(nothing));
  return samples;
}

async function handle(request) {
  switch (request.op) {
    case "open": {
      if (!SYSTEMS.has(request.system)) throw new Error(`unknown system ${JSON.stringify(request.system)}`);
      const system = await import(`./systems/${request.system}.mjs`);
      isSync = system.synchronous;
      store = await system.open(request.target, request.settings);
      counter = makeCounter(request.counter);
      return {};
    }
    case "call": {
      let value;
      const ns = await timed(() => (value = call(request.name, request.args)));
      value = await value;
      if (RETURNS_CONVERSATIONS.has(request.name)) {
        value = request.reply === "count" ? value.length : conversationsToWire(value);
      }
      return { ns, value: value ?? null };
    }
    case "plan":
      return plan(request.steps);
    case "floor":
      return { ns: await floor(request.n) };
    case "close":
      counter?.close();
      if (store) await store.close();
      store = null;
      return {};
    default:
      throw new Error(`unknown request ${JSON.stringify(request.op)}`);
  }
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  let answer;
  try {
    answer = encode({ ok: true, ...(await handle(JSON.parse(line))) });
  } catch (error) {
    answer = JSON.stringify({ ok: false, error: errorText(error) });
  }
  process.stdout.write(answer + "\n");
}
// stdin closed (the harness is done, or gone): close the store and leave, whatever is still
// holding the event loop open (a client's idle keep-alive sockets).
try {
  await store?.close();
} catch {
  // nothing useful to do on the way out
}
process.exit(0);
