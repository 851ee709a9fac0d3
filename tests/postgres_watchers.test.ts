/**
 * PostgreSQL: claims and completions notify their updates only while some
 * process watches the queue (backends/postgres/sql_watchers.ts), on a
 * throwaway server: what a raw LISTEN hears with and without a watcher, the
 * lock that makes `listen()` wait for a statement that read no watcher,
 * and a watcher's refresh (a row gone is added back with a resync, rows of
 * dead processes expire).
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type BackendEvent, createQueue } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { ident } from "../backends/postgres/sql.ts";
import { watcherStatements } from "../backends/postgres/sql_watchers.ts";
import { createWatcher } from "../backends/postgres/watchers.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";
import { waitFor } from "./_support/time.ts";

const SLOW = { timeout: 60_000 };
const within = (timeout: number) => ({ timeout, interval: 10 });

let seq = 0;
const fresh = () => `pgwatch_${Date.now().toString(36)}_${++seq}`;

describe("postgres watchers", () => {
  let server: PostgresServer;
  let sql: postgres.Sql;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    server = await startPostgres();
    sql = postgres(server.url, { onnotice: () => {}, max: 4 });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await sql?.end({ timeout: 1 });
    server?.destroy();
  });

  /** A queue on a backend of its own, with the backend's schema ready. */
  async function queueOf() {
    const backend = postgresBackend({ url: server.url });
    const queue = createQueue({ backend, name: fresh() });
    closers.push(() => backend.close(), () => queue.close());
    await queue.stats();
    return { backend, queue };
  }

  /** What a raw LISTEN on the queue's channel hears (no watcher row). */
  async function overhear(queue: string): Promise<string[]> {
    const heard: string[] = [];
    const l = await sql.listen(`jobline:jobline:${queue}`, (p) => {
      heard.push(p);
    });
    closers.push(() => l.unlisten());
    return heard;
  }

  const updates = (heard: string[]) =>
    heard.filter((p) => p.startsWith('["p"') || p.startsWith('["u"'));

  const watchers = async (queue: string) =>
    (await sql`SELECT watcher FROM jobline.watchers WHERE queue = ${queue}`)
      .length;

  /** Claims and completes every due job, then sends a marker through. */
  async function drainAll(
    queue: Awaited<ReturnType<typeof queueOf>>["queue"],
    heard: string[],
  ) {
    for (let job = await queue.claim(); job; job = await queue.claim()) {
      await queue.complete(job, "ok");
    }
    const mark = `mark-${++seq}`;
    await sql`SELECT pg_notify(${`jobline:jobline:${queue.name}`}, ${mark})`;
    await waitFor("the marker", () => heard.includes(mark), within(5_000));
  }

  test(
    "claims and completions notify no update while no one watches the queue, and every one while someone does",
    SLOW,
    async () => {
      const { backend, queue } = await queueOf();
      const heard = await overhear(queue.name);
      const worker: BackendEvent[] = [];
      const stopWorker = await backend.listen(queue.name, "worker", (e) => {
        worker.push(e);
      });
      closers.push(stopWorker);
      assert.equal(await watchers(queue.name), 0, "a worker does not watch");

      await queue.enqueueMany([1, 2, 3].map((i) => ({ type: "t", data: i })));
      await drainAll(queue, heard);
      assert.deepEqual(updates(heard), [], "nothing while unwatched");
      assert.ok(heard.some((p) => p.startsWith('["e"')), "enqueues still wake");

      const seen: string[] = [];
      const stop = await queue.listen("queue", (e) => {
        if (e.kind === "update") seen.push(`${e.update.status}`);
      });
      assert.equal(await watchers(queue.name), 1);
      await queue.enqueueMany([4, 5, 6].map((i) => ({ type: "t", data: i })));
      await drainAll(queue, heard);
      assert.ok(updates(heard).length > 0, "updates while watched");
      await waitFor(
        "three completions heard",
        () => seen.filter((s) => s === "complete").length === 3,
        within(5_000),
      );
      assert.equal(seen.filter((s) => s === "processing").length, 3);

      await stop();
      assert.equal(await watchers(queue.name), 1, "it lingers a while");
      await backend.close();
      assert.equal(await watchers(queue.name), 0, "closing unwatches at once");
      const other = createQueue({
        backend: postgresBackend({ url: server.url }),
        name: queue.name,
      });
      closers.push(() => other.close());
      const before = updates(heard).length;
      await other.enqueue("t", 7);
      await drainAll(other, heard);
      assert.equal(updates(heard).length, before, "nothing once unwatched");
    },
  );

  /** A watcher on the test's client, naming the statements it runs. */
  function watcherOf(lingerMs: number, lost: string[] = []) {
    const ran: string[] = [];
    /** Statements whose next run fails. */
    const failing = new Set<string>();
    const s = watcherStatements(ident("jobline"));
    const names = new Map([[s.watch, "watch"], [s.unwatch, "unwatch"]]);
    const counted = {
      unsafe: (text: string, args: string[]) => {
        const name = names.get(text) ?? "beat";
        ran.push(name);
        if (failing.has(name)) {
          failing.delete(name);
          return Promise.reject(new Error("connection lost"));
        }
        return sql.unsafe(text, args);
      },
    } as unknown as postgres.Sql;
    const watcher = createWatcher(
      s,
      (_queue, fn) => fn(),
      counted,
      (q) => void lost.push(q),
      { beatMs: 3_600_000, lingerMs },
    );
    closers.push(() => watcher.close());
    return { watcher, ran, failing };
  }

  test(
    "listeners of one backend share one row, deleted when the last stops (no linger)",
    SLOW,
    async () => {
      const { queue } = await queueOf();
      const { watcher, ran } = watcherOf(0);
      const [a, b] = await Promise.all([
        watcher.watch(queue.name),
        watcher.watch(queue.name),
      ]);
      assert.equal(await watchers(queue.name), 1);
      await a();
      assert.equal(await watchers(queue.name), 1);
      await b();
      assert.equal(await watchers(queue.name), 0);
      const c = await watcher.watch(queue.name);
      assert.equal(await watchers(queue.name), 1, "watched again");
      await c();
      assert.deepEqual(ran, ["watch", "unwatch", "watch", "unwatch"]);
    },
  );

  test(
    "a row lingers after its last listener: one coming back meanwhile takes no lock",
    SLOW,
    async () => {
      const { queue } = await queueOf();
      const { watcher, ran } = watcherOf(3_600_000);
      const a = await watcher.watch(queue.name);
      await a();
      assert.equal(await watchers(queue.name), 1);
      const b = await watcher.watch(queue.name);
      await b();
      assert.deepEqual(ran, ["watch"], "one add for both");
      await watcher.close();
      assert.equal(await watchers(queue.name), 0);
    },
  );

  test(
    "listen() waits for a statement that found no watcher to commit, so it hears every later one",
    SLOW,
    async () => {
      const { backend, queue } = await queueOf();
      const tx = await sql.reserve();
      closers.push(() => Promise.resolve(tx.release()));
      await tx`BEGIN`;
      const [row] = await tx`SELECT jobline.watched(${queue.name}) AS w`;
      assert.equal(row!.w, false);
      let settled = false;
      const listening = backend.listen(queue.name, "queue", () => {})
        .finally(() => (settled = true));
      // The watch waits for the lock this transaction holds shared.
      await waitFor(
        "the watch to wait for the lock",
        async () =>
          (await sql`SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted`).length === 1,
        within(5_000),
      );
      assert.equal(settled, false);
      assert.equal(await watchers(queue.name), 0);
      await tx`COMMIT`;
      const stop = await listening;
      assert.equal(await watchers(queue.name), 1);
      const [again] = await sql`SELECT jobline.watched(${queue.name}) AS w`;
      assert.equal(again!.w, true);
      await stop();
    },
  );

  test(
    "under an isolation level other than read committed, watched() says true",
    SLOW,
    async () => {
      const { queue } = await queueOf();
      const rows = await sql.begin(
        "isolation level repeatable read",
        (tx) => tx`SELECT jobline.watched(${queue.name}) AS w`,
      );
      assert.equal(rows[0]!.w, true);
      const [rc] = await sql`SELECT jobline.watched(${queue.name}) AS w`;
      assert.equal(rc!.w, false, "no watcher");
    },
  );

  test(
    "a watcher adds back its row found gone and tells the queue to re-read; rows of dead watchers expire",
    SLOW,
    async () => {
      const { queue } = await queueOf();
      const lost: string[] = [];
      const { watcher, failing } = watcherOf(0, lost);
      const unwatch = await watcher.watch(queue.name);
      await sql`INSERT INTO jobline.watchers (queue, watcher, beat)
        VALUES (${queue.name}, 'dead', now() - interval '11 minutes'),
          (${queue.name}, 'alive', now() - interval '9 minutes')`;
      await watcher.beat();
      assert.deepEqual(lost, [], "its row was there");
      assert.deepEqual(
        (await sql`SELECT watcher FROM jobline.watchers
          WHERE queue = ${queue.name} ORDER BY watcher`).map((r) => r.watcher)
          .filter((w) => w === "dead" || w === "alive"),
        ["alive"],
      );
      await sql`DELETE FROM jobline.watchers
        WHERE queue = ${queue.name} AND watcher <> 'alive'`;
      failing.add("watch");
      await watcher.beat();
      assert.deepEqual(lost, [], "not back yet: no resync");
      assert.equal(await watchers(queue.name), 1, "only 'alive'");
      await watcher.beat();
      assert.deepEqual(lost, [queue.name], "back, then resync");
      assert.equal(await watchers(queue.name), 2, "added back");
      await unwatch();
      await watcher.beat();
      assert.deepEqual(lost, [queue.name], "an unwatched queue is not lost");
      assert.equal(await watchers(queue.name), 1);
    },
  );
});
