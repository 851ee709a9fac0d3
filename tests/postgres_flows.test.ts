/**
 * Flows (SPEC §12) on PostgreSQL beyond the conformance suite, on a
 * throwaway server, through the backend's own calls: a store made by the
 * previous schema (version 5) upgrades; the 10,000 children of one parent
 * are released by its completion in one transaction; two parents that
 * finish at the same moment release their shared child once; cascades,
 * retries and removals leave no flow row or kept result behind once the
 * flow has no unfinished job; a plain job's flow columns stay null.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import type {
  Backend,
  JobRecord,
  NewJobRecord,
} from "../src/backend/interface.ts";
import type {
  BackendFlows,
  NewFlowJobRecord,
} from "../src/backend/interface_flows.ts";
import { newId } from "../src/id.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import {
  LATEST,
  schemaAt,
  schemaVersion,
} from "./_support/postgres_versions.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 120_000 };
const T0 = 1_800_000_000_000;
const KEEP = {
  complete: { age: 86_400_000, count: null },
  failed: { age: 604_800_000, count: null },
};

let seq = 0;
const fresh = () => `pgflow_${Date.now().toString(36)}_${++seq}`;

type FlowBackend = Backend & BackendFlows;

/** The lease of a claimed job. */
const ref = (job: JobRecord) => ({ id: job.id, token: job.lease!.token });

/** A flow node: ref, parents' refs, and optionally its failure policy. */
interface Node {
  ref: string;
  after?: string[];
  policy?: "cancel" | "continue";
  keep?: NewJobRecord["keep"];
}

/** The records enqueueFlow takes for `nodes`, with their ids by ref. */
function flowOf(
  nodes: Node[],
  now = T0,
): { id: string; jobs: NewFlowJobRecord[]; ids: Record<string, string> } {
  const id = newId(now);
  const ids: Record<string, string> = {};
  for (const n of nodes) ids[n.ref] = newId(now);
  const jobs = nodes.map((n): NewFlowJobRecord => ({
    id: ids[n.ref]!,
    type: "t",
    data: JSON.stringify(n.ref),
    priority: 5,
    maxAttempts: 1,
    runAt: now,
    createdAt: now,
    ttl: null,
    expiresAt: null,
    key: null,
    metadata: "{}",
    keep: n.keep ?? KEEP,
    flow: {
      id,
      ref: n.ref,
      parents: Object.fromEntries((n.after ?? []).map((p) => [p, ids[p]!])),
      onParentFailure: n.policy ?? "cancel",
    },
    children: nodes.filter((c) => c.after?.includes(n.ref)).map((c) =>
      ids[c.ref]!
    ),
  }));
  return { id, jobs, ids };
}

describe("postgres flows", () => {
  let server: PostgresServer;
  let backend: FlowBackend;
  let sql: postgres.Sql;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    server = await startPostgres();
    backend = postgresBackend({ url: server.url, poolSize: 4 });
    closers.push(() => backend.close());
    sql = postgres(server.url, { onnotice: () => {} });
    closers.push(() => sql.end({ timeout: 1 }));
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    server?.destroy();
  });

  /** Claims the job `id` (the only due one of its queue, as set up). */
  async function claimed(queue: string, id: string): Promise<JobRecord> {
    const jobs = await backend.claim(queue, {
      types: null,
      limit: 1,
      leaseMs: 60_000,
      now: T0,
    });
    assert.equal(jobs[0]?.id, id);
    return jobs[0]!;
  }

  async function complete(queue: string, id: string): Promise<void> {
    const job = await claimed(queue, id);
    await backend.complete(queue, ref(job), JSON.stringify(`${id} done`), {
      now: T0,
    });
  }

  /** Rows the flow left in the flow tables. */
  async function leftOf(flow: string): Promise<number> {
    const [row] = await sql`SELECT
      (SELECT count(*) FROM jobline.flows WHERE id = ${flow})::int
      + (SELECT count(*) FROM jobline.flow_results WHERE flow_id = ${flow})::int
      AS n`;
    return row!.n as number;
  }

  test(
    "a store made by schema version 5 upgrades: its jobs run on, and flows work on it",
    SLOW,
    async () => {
      const schema = "flows_v5";
      await schemaAt(sql, schema, 5);
      await sql.unsafe(
        `INSERT INTO ${schema}.jobs (queue, id, type, data, priority,
          max_attempts, run_at, created_at, metadata, status, updated_at)
        VALUES ('v5', '01OLD00000000000000000000A', 't', '1', 5, 3, $1, $1,
          '{}', 'pending', $1)`,
        [T0],
      );
      const upgraded = postgresBackend({
        url: server.url,
        schema,
      }) as FlowBackend;
      closers.push(() => upgraded.close());
      const [old] = await upgraded.claim("v5", {
        types: null,
        limit: 1,
        leaseMs: 60_000,
        now: T0,
      });
      assert.equal(old?.id, "01OLD00000000000000000000A");
      assert.equal("flow" in old!, false, "a plain job has no flow");
      await upgraded.complete("v5", ref(old!), "2", { now: T0 });
      assert.equal(
        (await upgraded.get("v5", old!.id, { now: T0 }))?.status,
        "complete",
      );
      assert.equal(await schemaVersion(sql, schema), LATEST, "the latest");

      const f = flowOf([{ ref: "a" }, { ref: "b", after: ["a"] }]);
      await upgraded.enqueueFlow("v5", f, { now: T0 });
      const b = await upgraded.get("v5", f.ids.b!, { now: T0 });
      assert.equal(b?.status, "waiting");
      assert.deepEqual(b?.flow, {
        id: f.id,
        ref: "b",
        parents: { a: f.ids.a },
        onParentFailure: "cancel",
      });
      const [a] = await upgraded.claim("v5", {
        types: null,
        limit: 5,
        leaseMs: 60_000,
        now: T0,
      });
      assert.equal(a?.id, f.ids.a);
      await upgraded.complete("v5", ref(a!), '"A"', { now: T0 });
      assert.equal(
        (await upgraded.get("v5", f.ids.b!, { now: T0 }))?.status,
        "pending",
      );
      assert.deepEqual(
        await upgraded.parentResults("v5", f.ids.b!, { now: T0 }),
        { a: { status: "complete", result: '"A"', error: null } },
      );
    },
  );

  test(
    "the completion of a parent releases its 10,000 waiting children in the same transaction",
    SLOW,
    async () => {
      const queue = fresh();
      const children = Array.from({ length: 10_000 }, (_, i) => ({
        ref: `c${i}`,
        after: ["p"],
      }));
      const f = flowOf([{ ref: "p" }, ...children]);
      await backend.enqueueFlow(queue, f, { now: T0 });
      assert.equal((await backend.stats(queue, { now: T0 })).waiting, 10_000);
      const parent = await claimed(queue, f.ids.p!);
      const started = performance.now();
      await backend.complete(queue, ref(parent), '"P"', { now: T0 });
      const ms = performance.now() - started;
      console.log(`released 10,000 children in ${ms.toFixed(0)} ms`);
      const stats = await backend.stats(queue, { now: T0 });
      assert.equal(stats.waiting, 0);
      assert.equal(stats.pending, 10_000);
      // One transaction wrote the parent and every child.
      const [row] = await sql`SELECT count(DISTINCT xmin::text)::int AS n,
        count(*)::int AS jobs FROM jobline.jobs
        WHERE queue = ${queue} AND flow_id = ${f.id}`;
      assert.deepEqual({ ...row }, { n: 1, jobs: 10_001 });
    },
  );

  test(
    "the two parents of a diamond's last job completing at once on two backends release it, 30 diamonds over",
    SLOW,
    async () => {
      const other = postgresBackend({ url: server.url }) as FlowBackend;
      closers.push(() => other.close());
      const queue = fresh();
      const flows = Array.from({ length: 30 }, () =>
        flowOf([
          { ref: "b" },
          { ref: "c" },
          { ref: "d", after: ["b", "c"] },
        ]));
      for (const f of flows) await backend.enqueueFlow(queue, f, { now: T0 });
      const jobs = await backend.claim(queue, {
        types: null,
        limit: 60,
        leaseMs: 60_000,
        now: T0,
      });
      assert.equal(jobs.length, 60);
      const byId = new Map(jobs.map((j) => [j.id, j]));
      // Each diamond's b on one backend and c on the other, at once.
      await Promise.all(flows.flatMap((f) => [
        backend.complete(queue, ref(byId.get(f.ids.b!)!), "1", { now: T0 }),
        other.complete(queue, ref(byId.get(f.ids.c!)!), "1", { now: T0 }),
      ]));
      for (const f of flows) {
        const d = await backend.get(queue, f.ids.d!, { now: T0 });
        assert.equal(d?.status, "pending", `d of ${f.id}`);
      }
    },
  );

  test(
    "a waiting job changed by another transaction while its parents complete is still released (locked, not taken by a stale ctid)",
    SLOW,
    async () => {
      const queue = fresh();
      const f = flowOf([{ ref: "b" }, { ref: "c" }, {
        ref: "d",
        after: ["b", "c"],
      }]);
      await backend.enqueueFlow(queue, f, { now: T0 });
      const jobs = await backend.claim(queue, {
        types: null,
        limit: 2,
        leaseMs: 60_000,
        now: T0,
      });
      let completing: Promise<unknown> | undefined;
      await sql.begin(async (tx) => {
        // Hold d, and give it a new row version before letting go.
        await tx`SELECT 1 FROM jobline.jobs WHERE queue = ${queue}
          AND id = ${f.ids.d!} FOR UPDATE`;
        completing = Promise.all(
          jobs.map((j) => backend.complete(queue, ref(j), "1", { now: T0 })),
        );
        await new Promise((r) => setTimeout(r, 300));
        await tx`UPDATE jobline.jobs SET updated_at = updated_at
          WHERE queue = ${queue} AND id = ${f.ids.d!}`;
      });
      await completing;
      const d = await backend.get(queue, f.ids.d!, { now: T0 });
      assert.equal(d?.status, "pending");
    },
  );

  test(
    "parents of one child completing at once on two backends release it exactly once",
    SLOW,
    async () => {
      const other = postgresBackend({ url: server.url }) as FlowBackend;
      closers.push(() => other.close());
      const queue = fresh();
      const parents = Array.from({ length: 20 }, (_, i) => ({ ref: `p${i}` }));
      const f = flowOf([
        ...parents,
        { ref: "child", after: parents.map((p) => p.ref) },
      ]);
      await backend.enqueueFlow(queue, f, { now: T0 });
      const jobs = await backend.claim(queue, {
        types: null,
        limit: 20,
        leaseMs: 60_000,
        now: T0,
      });
      assert.equal(jobs.length, 20);
      await Promise.all(
        jobs.map((job, i) =>
          (i % 2 === 0 ? backend : other).complete(queue, ref(job), "1", {
            now: T0,
          })
        ),
      );
      const child = await backend.get(queue, f.ids.child!, { now: T0 });
      assert.equal(child?.status, "pending");
      assert.equal(child?.version, 2, "one release, one update");
      assert.equal(
        Object.keys(await backend.parentResults(queue, child!.id, { now: T0 }))
          .length,
        20,
      );
    },
  );

  test(
    "a flow's kept results stay while a job of it is stored, and nothing of it is left once none is: after a release past a parent removed at once, a cascade, a retry, cancelFlow and removals",
    SLOW,
    async () => {
      const queue = fresh();
      const now = { now: T0 };
      const gone = { complete: { age: 0, count: null }, failed: KEEP.failed };

      // A parent removed as it completes: its result is kept while its
      // child is stored, and goes with it.
      const kept = flowOf([{ ref: "p", keep: gone }, {
        ref: "c",
        after: ["p"],
      }]);
      await backend.enqueueFlow(queue, kept, now);
      await complete(queue, kept.ids.p!);
      assert.equal(await backend.get(queue, kept.ids.p!, now), null);
      assert.equal(await leftOf(kept.id), 2, "the flow's row and p's result");
      assert.deepEqual(await backend.parentResults(queue, kept.ids.c!, now), {
        p: {
          status: "complete",
          result: JSON.stringify(`${kept.ids.p} done`),
          error: null,
        },
      });
      await complete(queue, kept.ids.c!);
      assert.equal(await leftOf(kept.id), 1, "p's result: c is stored");
      assert.equal(await backend.remove(queue, kept.ids.c!, now), true);
      assert.equal(await leftOf(kept.id), 0, "gone with the last job");

      // A failure cancels b and c (c removed at once by its rule); a retry
      // brings the flow's count back; its kept results stay while a or b
      // is stored.
      const chain = flowOf([
        { ref: "a" },
        { ref: "b", after: ["a"] },
        {
          ref: "c",
          after: ["b"],
          keep: { ...KEEP, failed: { age: 0, count: null } },
        },
      ]);
      await backend.enqueueFlow(queue, chain, now);
      const a = await claimed(queue, chain.ids.a!);
      await backend.fail(queue, ref(a), {
        error: { name: "Error", message: "boom" },
        retryAt: null,
        now: T0,
      });
      const b = await backend.get(queue, chain.ids.b!, now);
      assert.equal(b?.status, "cancelled");
      assert.deepEqual(b?.error, {
        name: "CancelledError",
        message: 'parent "a" failed',
      });
      assert.equal(await backend.get(queue, chain.ids.c!, now), null);
      assert.equal(await leftOf(chain.id), 2, "a's error and b's");
      assert.equal(await backend.retry(queue, chain.ids.a!, now), true);
      assert.equal(
        (await backend.get(queue, chain.ids.b!, now))?.status,
        "waiting",
      );
      assert.equal(await leftOf(chain.id), 3, "the flow's row again");
      await complete(queue, chain.ids.a!);
      await complete(queue, chain.ids.b!);
      assert.equal(await leftOf(chain.id), 2, "a's and b's results");
      for (const id of [chain.ids.a!, chain.ids.b!]) {
        await backend.remove(queue, id, now);
      }
      assert.equal(await leftOf(chain.id), 0);

      // cancelFlow ends a flow at once; x's result stays while x or y is.
      const cancelled = flowOf([{ ref: "x" }, { ref: "y", after: ["x"] }]);
      await backend.enqueueFlow(queue, cancelled, now);
      await complete(queue, cancelled.ids.x!);
      assert.equal(await leftOf(cancelled.id), 2);
      assert.equal(
        await backend.cancelFlow(queue, cancelled.id, {
          reason: "stop",
          now: T0,
        }),
        true,
      );
      assert.equal(await leftOf(cancelled.id), 1);
      for (const id of Object.values(cancelled.ids)) {
        await backend.remove(queue, id, now);
      }
      assert.equal(await leftOf(cancelled.id), 0);

      // Removing every job of an unfinished flow leaves nothing behind.
      const removed = flowOf([
        { ref: "r" },
        { ref: "s", after: ["r"] },
        { ref: "t", after: ["r", "s"], policy: "continue" },
      ]);
      await backend.enqueueFlow(queue, removed, now);
      assert.equal(await backend.remove(queue, removed.ids.r!, now), true);
      const s = await backend.get(queue, removed.ids.s!, now);
      assert.deepEqual(s?.error, {
        name: "CancelledError",
        message: 'parent "r" was cancelled',
      });
      assert.equal(
        (await backend.get(queue, removed.ids.t!, now))?.status,
        "pending",
        "t continues once r and s are finished",
      );
      for (const id of Object.values(removed.ids)) {
        await backend.remove(queue, id, now);
      }
      assert.equal(await backend.getFlow(queue, removed.id, now), null);
      assert.equal(await leftOf(removed.id), 0);
      const stats = await backend.stats(queue, now);
      assert.equal(stats.waiting + stats.pending + stats.processing, 0);
    },
  );

  test(
    "two transactions that delete a flow's last jobs at the same moment leave nothing of it once the background sweep ran",
    SLOW,
    async () => {
      // A backend of its own, whose sweep runs every 20 ms on the queues it
      // used.
      const swept = postgresBackend({ url: server.url, sweepInterval: 20 });
      closers.push(() => swept.close());
      const queue = fresh();
      const now = { now: T0 };
      const flow = flowOf([{ ref: "a" }, { ref: "b" }, {
        ref: "c",
        after: ["a", "b"],
      }]);
      await swept.enqueueFlow(queue, flow, now);
      for (const id of [flow.ids.a!, flow.ids.b!, flow.ids.c!]) {
        const [job] = await swept.claim(queue, {
          types: null,
          limit: 1,
          leaseMs: 60_000,
          now: T0,
        });
        assert.equal(job?.id, id);
        await swept.complete(queue, ref(job!), "null", now);
      }
      assert.equal(await leftOf(flow.id), 2, "a's and b's results");
      assert.equal(await swept.remove(queue, flow.ids.a!, now), true);
      assert.equal(await leftOf(flow.id), 2, "b and c are stored");

      // b and c go in two transactions, each deleting before the other
      // commits: each still sees the other's job.
      const first = await sql.reserve();
      const second = await sql.reserve();
      try {
        await first`BEGIN`;
        await second`BEGIN`;
        await first`DELETE FROM jobline.jobs
          WHERE queue = ${queue} AND id = ${flow.ids.b!}`;
        await second`DELETE FROM jobline.jobs
          WHERE queue = ${queue} AND id = ${flow.ids.c!}`;
        await first`COMMIT`;
        await second`COMMIT`;
      } finally {
        first.release();
        second.release();
      }
      const deadline = Date.now() + 20_000;
      while ((await leftOf(flow.id)) > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await leftOf(flow.id), 0, "the sweep dropped the results");
      const [noted] = await sql`SELECT count(*)::int AS n
        FROM jobline.flows_gone WHERE queue = ${queue}`;
      assert.equal(noted!.n, 0, "and forgot the flow it checked");
    },
  );

  test(
    "a plain job keeps every flow column null and is outside the flow index",
    SLOW,
    async () => {
      const queue = fresh();
      const { flow: _flow, children: _children, ...plain } = flowOf([{
        ref: "plain",
      }]).jobs[0]!;
      const [outcome] = await backend.enqueue(queue, [plain], { now: T0 });
      const id = outcome!.id;
      const [row] = await sql`SELECT flow_id, flow_ref, flow_parents,
        flow_continue, flow_children, flow_delay, waiting_on, blocked_by
        FROM jobline.jobs WHERE queue = ${queue} AND id = ${id}`;
      assert.deepEqual(Object.values({ ...row }), Array(8).fill(null));
      const job = await backend.get(queue, id, { now: T0 });
      assert.equal(job !== null && "flow" in job, false);
      const [index] = await sql`SELECT pg_get_expr(indpred, indrelid) AS pred
        FROM pg_index WHERE indexrelid = 'jobline.jobs_flow'::regclass`;
      assert.equal(index?.pred, "(flow_id IS NOT NULL)");
    },
  );
});
