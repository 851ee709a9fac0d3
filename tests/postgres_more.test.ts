/**
 * PostgreSQL-only behaviour, on a throwaway server: transactional enqueue,
 * schemas kept apart, concurrent migrations, worker processes killed with
 * SIGKILL, and a server restart under a running worker.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import {
  type Backend,
  BackendError,
  createQueue,
  createWorker,
  LeaseLostError,
  type Queue,
  type QueueEvent,
  ValidationError,
} from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import {
  freePort,
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";
import { sleep, waitFor } from "./_support/time.ts";

/** Bun's default per-test limit is 5 s; these start processes and servers. */
const SLOW = { timeout: 60_000 };
const root = fileURLToPath(new URL("..", import.meta.url));
/** waitFor's options: up to `timeout` ms, looking every 25 ms. */
const within = (timeout: number) => ({ timeout, interval: 25 });

let seq = 0;
const fresh = () => `pgmore_${Date.now().toString(36)}_${++seq}`;

/** The command that runs a TypeScript file on the runtime running this test. */
function runtimeArgs(file: string): [string, string[]] {
  if ("Deno" in globalThis) return [process.execPath, ["run", "-A", file]];
  return [process.execPath, [file]];
}

describe("postgres backend", () => {
  let server: PostgresServer;
  const children: ChildProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
    }
    for (const close of closers.reverse()) await close().catch(() => {});
    server?.destroy();
  });

  function backend(schema = "jobline"): Backend {
    const b = postgresBackend({ url: server.url, schema });
    closers.push(() => b.close());
    return b;
  }

  function client(): postgres.Sql {
    const sql = postgres(server.url, { onnotice: () => {} });
    closers.push(() => sql.end({ timeout: 1 }));
    return sql;
  }

  /** A client of the test's own, and a queue whose enqueue joins its `tx`. */
  function clientQueue() {
    const sql = client();
    const queue = createQueue({
      backend: postgresBackend({ sql }),
      name: fresh(),
    });
    closers.push(() => queue.close());
    return { sql, queue };
  }

  test(
    "enqueue({ tx }) stores the job only if the transaction commits, and wakes an idle worker",
    SLOW,
    async () => {
      const { sql, queue } = clientQueue();
      const ran: string[] = [];
      const worker = createWorker(queue, {
        mail: (job) => void ran.push(job.id),
      }, { pollInterval: 60_000 });
      closers.push(() => worker.stop());
      await sleep(200); // the worker is idle and listening

      let rolledBack = "";
      await assert.rejects(
        sql.begin(async (tx) => {
          rolledBack = await queue.enqueue("mail", { to: "a" }, { tx });
          throw new Error("roll back");
        }),
        /roll back/,
      );
      assert.notEqual(rolledBack, "");
      assert.equal(await queue.get(rolledBack), null);
      assert.equal((await queue.stats()).pending, 0);

      let committed = "";
      await sql.begin(async (tx) => {
        committed = await queue.enqueue("mail", { to: "b" }, { tx });
        // Not visible outside the transaction before it commits.
        assert.equal(await queue.get(committed), null);
      });
      const t0 = Date.now();
      await waitFor(
        "the worker to run the committed job",
        async () => (await queue.get(committed))?.status === "complete",
        within(5_000),
      );
      assert.ok(Date.now() - t0 < 5_000, "woken by NOTIFY, not by polling");
      assert.deepEqual(ran, [committed]);
      assert.equal(await queue.get(rolledBack), null);
    },
  );

  test(
    "enqueueMany({ tx }) is all or none with the transaction",
    SLOW,
    async () => {
      const { sql, queue } = clientQueue();
      const items = [
        { type: "a", data: 1 },
        { type: "b", data: 2, options: { key: "k" } },
      ];
      await assert.rejects(
        sql.begin(async (tx) => {
          await queue.enqueueMany(items, { tx });
          throw new Error("no");
        }),
      );
      assert.equal((await queue.stats()).pending, 0);
      await sql.begin((tx) => queue.enqueueMany(items, { tx }));
      assert.equal((await queue.stats()).pending, 2);
    },
  );

  test(
    "createQueue(url) takes the schema from ?schema= and postgresql:// works too",
    SLOW,
    async () => {
      const name = fresh();
      const url = server.url.replace(/^postgres:/, "postgresql:");
      const q = createQueue(`${url}?schema=from_url`, { name });
      closers.push(() => q.close());
      const id = await q.enqueue("t", { via: "url" });
      const direct = createQueue({ backend: backend("from_url"), name });
      closers.push(() => direct.close());
      assert.equal((await direct.get(id))?.data.via, "url");
      const other = createQueue({ backend: backend(), name });
      closers.push(() => other.close());
      assert.equal(await other.get(id), null);
    },
  );

  test(
    "a refused connection rejects with BackendError, keeping the cause",
    SLOW,
    async () => {
      const port = await freePort();
      const b = postgresBackend({
        url: `postgres://postgres@127.0.0.1:${port}/x`,
      });
      closers.push(() => b.close());
      const q = createQueue({ backend: b, name: fresh() });
      closers.push(() => q.close());
      const err = await q.enqueue("t", null).then(() => null, (e) => e);
      assert.ok(err instanceof BackendError, String(err));
      assert.ok(err.cause instanceof Error);
      await assert.rejects(q.listen("worker", () => {}), BackendError);
    },
  );

  test("bad options are ValidationErrors", SLOW, () => {
    assert.throws(
      () => postgresBackend({ url: "mysql://localhost/x" }),
      ValidationError,
    );
    assert.throws(
      () => postgresBackend({ url: server.url, schema: "bad-name" }),
      ValidationError,
    );
    assert.throws(
      () => postgresBackend({ url: server.url, poolSize: 0 }),
      ValidationError,
    );
    assert.throws(() => postgresBackend({}), ValidationError);
  });

  test(
    "enqueue({ tx }) rejects a tx that is not a postgres transaction",
    SLOW,
    async () => {
      const q = createQueue({ backend: backend(), name: fresh() });
      closers.push(() => q.close());
      await assert.rejects(
        q.enqueue("t", null, { tx: {} as never }),
        ValidationError,
      );
      assert.equal((await q.stats()).pending, 0);
    },
  );

  test(
    "two complete() calls of one job at once: the first wins, the second loses its lease",
    SLOW,
    async () => {
      const q = createQueue({ backend: backend(), name: fresh() });
      closers.push(() => q.close());
      const [a, b] = await q.enqueueMany([
        { type: "t", data: "a" },
        { type: "t", data: "b" },
      ]);
      const jobs = await q.claimMany(2);
      const [first, second, other] = await Promise.allSettled([
        q.complete(jobs[0]!, 1),
        q.complete(jobs[0]!, 2),
        q.complete(jobs[1]!, 3),
      ]);
      assert.equal(first.status, "fulfilled");
      assert.equal(other.status, "fulfilled");
      assert.ok(
        second.status === "rejected" &&
          second.reason instanceof LeaseLostError,
        String(second.status),
      );
      assert.equal((await q.get(a!))?.result, 1);
      assert.equal((await q.get(b!))?.result, 3);
    },
  );

  test("a user's client with a column-name transform works", SLOW, async () => {
    const sql = postgres(server.url, {
      onnotice: () => {},
      transform: postgres.camel,
    });
    closers.push(() => sql.end({ timeout: 1 }));
    const q = createQueue({
      backend: postgresBackend({ sql, schema: "camel" }),
      name: fresh(),
    });
    closers.push(() => q.close());
    const id = await q.enqueue("t", { a: 1 }, { key: "k", ttl: 60 });
    assert.equal(await q.enqueue("t", { a: 2 }, { key: "k" }), id);
    const job = await q.claim();
    assert.equal(job?.id, id);
    assert.equal(job?.maxAttempts, 3);
    await q.complete(job!, { ok: true });
    const done = await q.get(id);
    assert.equal(done?.status, "complete");
    assert.deepEqual(done?.result, { ok: true });
    assert.equal(typeof done?.completedAt, "number");
    assert.equal(typeof done?.expiresAt, "number");
  });

  test(
    "two schemas on one database never see each other's jobs",
    SLOW,
    async () => {
      const name = fresh();
      const a = createQueue({ backend: backend("jobs_a"), name });
      const b = createQueue({ backend: backend("jobs_b"), name });
      closers.push(() => a.close(), () => b.close());
      const heard: QueueEvent[] = [];
      const stop = await b.listen("queue", (e) => void heard.push(e));
      const id = await a.enqueue("t", { from: "a" }, { key: "same" });
      const idB = await b.enqueue("t", { from: "b" }, { key: "same" });
      assert.notEqual(id, idB, "the key is held per schema");
      assert.equal(await b.get(id), null);
      assert.equal(await a.get(idB), null);
      assert.equal((await b.stats()).pending, 1);
      const claimed = await b.claimMany(10);
      assert.deepEqual(claimed.map((j) => j.id), [idB]);
      await sleep(300);
      assert.ok(
        heard.every((e) => e.kind !== "update" || e.update.jobId !== id),
        "no update of schema a's job reached schema b",
      );
      await stop();
    },
  );

  test(
    "expired jobs are deleted in the background, in batches",
    SLOW,
    async () => {
      const b = postgresBackend({ url: server.url, sweepInterval: 100 });
      closers.push(() => b.close());
      const q = createQueue({ backend: b, name: fresh() });
      closers.push(() => q.close());
      await q.enqueueMany(
        Array.from({ length: 1500 }, (_, i) => ({
          type: "t",
          data: i,
          options: { ttl: 0.2 },
        })),
      );
      const keep = await q.enqueue("t", "stays");
      const sql = client();
      const count = async () =>
        (await sql`select count(*)::int as n from jobline.jobs
        where queue = ${q.name}`)[0]!.n as number;
      assert.equal(await count(), 1501);
      await sleep(250);
      await q.stats(); // the sweeper deletes up to the queue clock's last time
      await waitFor(
        "the sweeper to delete the expired jobs",
        async () => (await count()) === 1,
        within(5_000),
      );
      assert.equal((await q.get(keep))?.data, "stays");
    },
  );

  test(
    "many backends migrating one new schema at once all succeed",
    SLOW,
    async () => {
      const schema = `burst_${Date.now().toString(36)}`;
      const name = fresh();
      const ids = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const q = createQueue({ backend: backend(schema), name });
          closers.push(() => q.close());
          return q.enqueue("t", { i });
        }),
      );
      const q = createQueue({ backend: backend(schema), name });
      closers.push(() => q.close());
      assert.equal((await q.stats()).pending, ids.length);
    },
  );

  test(
    "three worker processes drain 1,000 jobs while one is killed with SIGKILL mid-job",
    SLOW,
    async () => {
      const name = fresh();
      const leaseMs = 2_000;
      const queue = createQueue({ backend: backend(), name });
      closers.push(() => queue.close());
      await queue.enqueueMany(
        Array.from({ length: 1000 }, (_, i) => ({ type: "work", data: { i } })),
      );
      const [cmd, args] = runtimeArgs("tests/fixtures/postgres_worker.ts");
      const lines: string[][] = [[], [], []];
      const procs = lines.map((out, i) => {
        // The first worker hangs after 25 jobs, so the kill finds it mid-job.
        const hang = i === 0 ? ["25"] : [];
        const child = spawn(
          cmd,
          [...args, server.url, name, String(leaseMs), "jobline", ...hang],
          { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
        );
        children.push(child);
        let rest = "";
        child.stdout!.setEncoding("utf8");
        child.stdout!.on("data", (chunk: string) => {
          const parts = (rest + chunk).split("\n");
          rest = parts.pop()!;
          out.push(...parts);
        });
        return child;
      });
      const victim = lines[0]!;
      await waitFor(
        "the first worker to be busy",
        () => victim.filter((l) => l.startsWith("start ")).length >= 30,
        within(30_000),
      );
      procs[0]!.kill("SIGKILL");
      const killedAt = Date.now();
      await new Promise((r) => procs[0]!.once("exit", r));
      const started = new Set(
        victim.filter((l) => l.startsWith("start ")).map((l) => l.slice(6)),
      );
      for (const l of victim) {
        if (l.startsWith("done ")) started.delete(l.slice(5));
      }
      await waitFor(
        "every job to complete",
        async () => (await queue.stats()).complete === 1000,
        within(30_000),
      );
      const stats = await queue.stats();
      assert.equal(stats.complete, 1000);
      assert.equal(stats.pending + stats.processing + stats.failed, 0);
      assert.ok(started.size > 0, "the victim was killed mid-job");
      let rerun = 0;
      for (const id of started) {
        const job = await queue.get(id);
        assert.equal(job?.status, "complete");
        if (job!.attempt > 1) rerun++;
        assert.ok(
          job!.completedAt! <= killedAt + leaseMs + 5_000,
          `job ${id} finished ${
            job!.completedAt! - killedAt
          } ms after the kill`,
        );
      }
      assert.ok(rerun > 0, "jobs of the killed worker ran again");
      for (const p of procs.slice(1)) p.kill("SIGTERM");
      await Promise.all(
        procs.slice(1).map((p) =>
          p.exitCode === null ? new Promise((r) => p.once("exit", r)) : null
        ),
      );
    },
  );

  test(
    "a server restart under a running worker: it reports BackendError, stays up and finishes the queue",
    SLOW,
    async () => {
      const q: Queue = createQueue({ backend: backend(), name: fresh() });
      closers.push(() => q.close());
      const total = 300;
      await q.enqueueMany(
        Array.from(
          { length: total },
          (_, i) => ({ type: "work", data: { i } }),
        ),
      );
      const errors: unknown[] = [];
      let done = 0;
      const worker = createWorker(q, {
        work: async () => {
          await sleep(10);
          done++;
        },
      }, { concurrency: 5, leaseMs: 2_000, pollInterval: 200 });
      closers.push(() => worker.stop({ timeout: 1000 }));
      worker.on("error", (err) => void errors.push(err));
      let resyncs = 0;
      const stop = await q.listen("queue", (e) => {
        if (e.kind === "resync") resyncs++;
      });
      await waitFor("some jobs to run", () => done >= 50, within(20_000));
      server.stop();
      await sleep(500);
      server.start();
      await waitFor(
        "every job to complete",
        // The server is away for a moment: a failed look is a "not yet".
        async () => (await q.stats().catch(() => null))?.complete === total,
        within(40_000),
      );
      assert.ok(
        errors.some((e) => e instanceof BackendError),
        "the worker reported a BackendError",
      );
      assert.equal(worker.stopped, false);
      await waitFor(
        "LISTEN to come back with a resync",
        () => resyncs > 0,
        within(20_000),
      );
      await stop();
      const stats = await q.stats();
      assert.equal(stats.complete, total);
      await worker.stop({ timeout: 1000 });
    },
  );
});
