/**
 * The PostgreSQL connection of one backend object: the client (made from a
 * URL, then ours to end, with its claim lines, claim_lines.ts; or the
 * user's, then theirs), the channel name of each queue, the schema
 * migrations (run once, under an advisory lock, so many processes may start
 * at once), the runner every call goes through (closed check, schema ready,
 * errors wrapped, calls tracked for close), the background sweep of expired
 * jobs, and closing. It must never end a client the user passed in, and
 * knows no transition.
 *
 * @module
 */

import { createHash } from "node:crypto";
import postgres from "postgres";
import { backendClosed } from "../../src/backend/closed.ts";
import { unrefTimer } from "../../src/backend/timers.ts";
import { toBackendError } from "../../src/errors.ts";
import { type ClaimLines, claimLines, lineCount } from "./claim_lines.ts";
import { type Statements, statements } from "./sql.ts";
import { bootstrap, migrations } from "./sql_migrations.ts";

/** A porsager client or transaction. */
// deno-lint-ignore no-explicit-any
export type Sql = postgres.Sql<any>;

/** What the backend's options resolve to. */
export interface DbConfig {
  /** The user's client, or the URL (driver form) to make one from. */
  client: { sql: Sql } | { url: string; poolSize: number };
  schema: string;
  /** ms between sweeps of expired jobs. */
  sweepInterval: number;
}

/** The connection of one backend. */
export interface Db {
  readonly sql: Sql;
  readonly statements: Statements;
  /** The client of `queue`'s claims (claim_lines.ts). */
  claimSql(queue: string): Sql;
  /** The LISTEN/NOTIFY channel of a queue (at most 63 bytes). */
  channel(queue: string): string;
  /** Runs a call of `queue` at time `now`, named `what` in its errors. */
  run<T>(
    what: string,
    queue: string,
    now: number,
    fn: () => Promise<T>,
  ): Promise<T>;
  /** Throws when closed. */
  checkOpen(): void;
  /**
   * Stops the sweep, lets the calls under way finish (5 s at most), runs
   * `last` (stopping events) and ends a client the backend made.
   */
  close(last: () => Promise<void>): Promise<void>;
}

/** Opens the connection (lazily: nothing is sent before the first call). */
export function openDb(config: DbConfig): Db {
  const owned = !("sql" in config.client);
  // Claim lines come out of a pool the backend makes, never out of yours.
  const { sql, lines } = "sql" in config.client
    ? { sql: config.client.sql, lines: undefined }
    : makeClients(config.client.url, config.client.poolSize);
  const schema = config.schema;
  const s = statements(schema);
  const channels = new Map<string, string>();
  /** The latest time each queue was used at: the sweep's clock. */
  const lastNow = new Map<string, number>();
  const inflight = new Set<Promise<unknown>>();
  let ready: Promise<void> | undefined;
  let closed = false;

  const sweeper = startSweeper(
    config.sweepInterval,
    () => ready !== undefined && !closed,
    () => sweep(sql, s, lastNow, () => closed, (q) => channelName(schema, q)),
  );

  return {
    sql,
    statements: s,

    claimSql: (queue) => lines?.of(queue) ?? sql,

    channel(queue) {
      let name = channels.get(queue);
      if (name === undefined) {
        name = channelName(schema, queue);
        channels.set(queue, name);
      }
      return name;
    },

    async run(what, queue, now, fn) {
      if (closed) throw backendClosed("postgres");
      if (!((lastNow.get(queue) ?? -Infinity) >= now)) lastNow.set(queue, now);
      const op = (async () => {
        try {
          await (ready ??= migrate(sql, s, schema).catch((err) => {
            ready = undefined;
            throw err;
          }));
          return await fn();
        } catch (err) {
          throw toBackendError(err, `postgres ${what}`);
        }
      })();
      inflight.add(op);
      void op.then(() => inflight.delete(op), () => inflight.delete(op));
      return await op;
    },

    checkOpen() {
      if (closed) throw backendClosed("postgres");
    },

    async close(last) {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      // Let calls already made finish (for a few seconds at most) ...
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...inflight]),
        new Promise((resolve) => (timer = setTimeout(resolve, 5_000))),
      ]);
      clearTimeout(timer);
      await last();
      // ... then end at once: after a server restart the driver may keep a
      // dead connection busy forever, and a graceful end would wait for it.
      await lines?.end();
      if (owned) await sql.end({ timeout: 0 });
    },
  };
}

/** Brings the schema up to date, under a lock held until it commits. */
async function migrate(sql: Sql, s: Statements, schema: string): Promise<void> {
  await sql.begin(async (t) => {
    await t.unsafe("SET LOCAL client_min_messages TO warning");
    await t.unsafe(s.lock, [schema]);
    await t.unsafe(bootstrap(schema));
    const [row] = await t.unsafe(s.version);
    const list = migrations(schema);
    for (let v = (row?.v as number) ?? 0; v < list.length; v++) {
      await t.unsafe(list[v]!);
      await t.unsafe(s.recordVersion, [v + 1]);
    }
  });
}

/**
 * The backend's own clients from a URL: a pool of `poolSize` connections
 * but those it keeps as claim lines, and the lines (claim_lines.ts).
 */
function makeClients(
  url: string,
  poolSize: number,
): { sql: Sql; lines: ClaimLines<Sql> } {
  const count = lineCount(poolSize);
  const sql = makeClient(url, poolSize - count);
  return { sql, lines: claimLines(sql, count, () => makeClient(url, 1)) };
}

/** A client of the backend's own, from a URL. */
function makeClient(url: string, poolSize: number): Sql {
  // The driver's own array types are not needed (batches travel as JSON),
  // and skipping their fetch keeps reconnects simple.
  return postgres(url, {
    max: poolSize,
    onnotice: () => {},
    fetch_types: false,
    // The driver waits before reconnecting a closed connection up to 20 s by
    // default (3^retries / 100 s, retries counted across the pool), and the
    // queries queued on it wait as long: after a server restart, work would
    // stall for tens of seconds. Retry fast instead, at most 1 s apart.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    connection: { application_name: "jobline" },
  });
}

/** `jobline:<schema>:<queue>`, or a hash of both when that is too long. */
function channelName(schema: string, queue: string): string {
  const name = `jobline:${schema}:${queue}`;
  if (new TextEncoder().encode(name).length <= 63) return name;
  const hash = createHash("sha1").update(`${schema}\0${queue}`).digest("hex");
  return `jobline:${hash}`;
}

/** Runs `sweep` every `interval` ms while `due()`, one at a time. */
function startSweeper(
  interval: number,
  due: () => boolean,
  sweep: () => Promise<void>,
): ReturnType<typeof setInterval> {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || !due()) return;
    sweeping = true;
    void sweep().finally(() => (sweeping = false));
  }, interval);
  // The sweep alone must not keep a process alive.
  unrefTimer(timer);
  return timer;
}

/**
 * Deletes expired jobs of every queue used, up to each queue's latest time,
 * in batches of 1,000 (100 batches a queue at most per sweep), and what
 * flows noted by flow_gone left (sql_flows_gone.ts).
 */
async function sweep(
  sql: Sql,
  s: Statements,
  lastNow: ReadonlyMap<string, number>,
  closed: () => boolean,
  channel: (queue: string) => string,
): Promise<void> {
  for (const [queue, now] of lastNow) {
    if (closed()) return;
    try {
      for (let i = 0; i < 100 && !closed(); i++) {
        const [row] = await sql.unsafe(s.sweep, [
          queue,
          now,
          1000,
          channel(queue),
        ], {
          prepare: true,
        });
        if (((row?.n as number) ?? 0) < 1000) break;
      }
    } catch {
      // The server is away; the next sweep tries again.
    }
  }
}
