// What the harness drives in the page (window.storebench): the five ops issued the way each
// architecture issues them, timed here in the page with performance.now(). Python sends a
// chunk of steps with Playwright's page.evaluate and gets one result per step back, so nothing
// of the harness (Python, the DevTools protocol) is inside a sample.
//
// - "routes": fetch() to the Next.js route handlers of this app (the design's current design).
// - "turso": @libsql/client/web straight to a libSQL server with a token (the design's phase 2).
import type { Client } from "@libsql/client";
import * as store from "./store";

type Op = (...args: any[]) => Promise<unknown>;
type Api = Record<string, Op>;
// Per step: [ms, requests, network ms | null, [conversations, messages] for load_all | null] when
// it succeeded, [null, error, timed out] when not.
type StepResult = [number, number, number | null, [number, number] | null] | [null, string, boolean];

// What load_all returned, counted after the clock read (as the Python and Node sides do).
function storeSize(value: unknown): [number, number] {
  const rows = value as { messages: unknown[] }[];
  return [rows.length, rows.reduce((total, c) => total + c.messages.length, 0)];
}

let api: Api | null = null;
let opTimeoutMs = 60_000;
let requests = 0; // HTTP requests the ops made (preflights excluded: the page cannot see them)
let timedOut = false;

// Every request of an op goes through here: counted, and bounded by the op timeout.
async function timedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  requests += 1;
  const signal = AbortSignal.timeout(opTimeoutMs);
  try {
    return await fetch(input, { ...init, signal });
  } catch (error) {
    timedOut ||= signal.aborted;
    throw error;
  }
}

async function route(path: string, body?: unknown): Promise<any> {
  const init: RequestInit = body === undefined
    ? { cache: "no-store" }
    : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  const response = await timedFetch(`/api/conversations/${path}`, init);
  const data = await response.json();
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}: ${data.error}`);
  }
  return data;
}

function routesApi(): Api {
  return {
    load_all: async () => (await route("load")).conversations,
    create_conversation: (c) => route("create", { conversation: c }),
    add_message: (m) => route("message", { message: m }),
    update_title: (id, title, updatedAt) => route("title", { id, title, updated_at: updatedAt }),
    delete_conversation: (id) => route("delete", { id }),
  };
}

function clientApi(db: Client): Api {
  return {
    load_all: () => store.loadAll(db),
    create_conversation: (c) => store.createConversation(db, c),
    add_message: (m) => store.addMessage(db, m),
    update_title: (id, title, updatedAt) => store.updateTitle(db, id, title, updatedAt),
    delete_conversation: (id) => store.deleteConversation(db, id),
    // set-up and read-back, not timed
    setup_schema: () => store.setupSchema(db),
    preload: (conversations) => store.preload(db, conversations),
    describe: () => store.settingsInForce(db),
  };
}

function useRoutes(timeoutMs: number): void {
  opTimeoutMs = timeoutMs;
  api = routesApi();
}

// Imported only in this mode, so the routes page loads no database client.
async function useTurso(url: string, authToken: string, timeoutMs: number): Promise<void> {
  opTimeoutMs = timeoutMs;
  const { createClient } = await import("@libsql/client/web");
  api = clientApi(createClient({ url, authToken, intMode: "bigint", fetch: timedFetch }));
}

function op(name: string): Op {
  const fn = api?.[name];
  if (fn === undefined) {
    throw new Error(api === null ? "no mode chosen: call useRoutes or useTurso first" : `unknown op ${name}`);
  }
  return fn;
}

async function call(name: string, args: unknown[]): Promise<unknown> {
  return (await op(name)(...args)) ?? null;
}

// The network panel's view: the duration of each fetch the page made, from Resource Timing.
function fetchEntries(): PerformanceResourceTiming[] {
  return (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
    .filter((e) => e.initiatorType === "fetch");
}

async function run(steps: [string, unknown[]][]): Promise<StepResult[]> {
  performance.clearResourceTimings();
  const results: StepResult[] = [];
  const counts: number[] = [];
  for (const [name, args] of steps) {
    const fn = op(name);
    const before = requests;
    timedOut = false;
    const t0 = performance.now();
    try {
      const value = await fn(...args);
      const t1 = performance.now();
      results.push([t1 - t0, requests - before, null, name === "load_all" ? storeSize(value) : null]);
    } catch (error) {
      results.push([null, error instanceof Error ? `${error.name}: ${error.message}` : String(error), timedOut]);
    }
    counts.push(requests - before);
  }
  // Resource entries arrive in request order; share them out by each step's request count.
  // If their number differs (a failed request may have none), the network times stay null.
  const entries = fetchEntries();
  if (entries.length === counts.reduce((a, b) => a + b, 0)) {
    let next = 0;
    counts.forEach((n, i) => {
      const result = results[i];
      if (result[0] !== null) {
        result[2] = entries.slice(next, next + n).reduce((sum, e) => sum + e.duration, 0);
      }
      next += n;
    });
  }
  return results;
}

// The smallest step performance.now() takes here: Chromium coarsens it (100 µs, or 5 µs in
// a cross-origin-isolated page, which next.config.mjs makes this one), plus jitter.
function resolution(): Record<string, unknown> {
  let smallest = Infinity;
  let last = performance.now();
  for (let i = 0; i < 100_000; i++) {
    const now = performance.now();
    if (now > last) {
      smallest = Math.min(smallest, now - last);
    }
    last = now;
  }
  return { performance_now_ms: smallest, cross_origin_isolated: globalThis.crossOriginIsolated === true,
    user_agent: navigator.userAgent };
}

// Time to the first answered load since this page's navigation started (performance.now()'s
// origin): a user's cold start of the phase-2 page, which talks to the database itself.
async function coldLoad(url: string, authToken: string, timeoutMs: number): Promise<[number, number]> {
  await useTurso(url, authToken, timeoutMs);
  const conversations = await op("load_all")() as unknown[];
  return [performance.now(), conversations.length];
}

export function install(): void {
  performance.setResourceTimingBufferSize(100_000);
  Object.assign(window, { storebench: { useRoutes, useTurso, call, run, resolution, coldLoad } });
  document.body.dataset.storebench = "ready";
}
