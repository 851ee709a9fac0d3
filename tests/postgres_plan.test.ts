/**
 * The claim's plan on PostgreSQL does not depend on the planner's
 * statistics (issue 10, item 6). A crash restart resets the cumulative
 * statistics (n_live_tup, n_mod_since_analyze), so autovacuum does not
 * analyze the jobs table again for a while; the planner then plans claims
 * from statistics gathered before a big batch arrived, which say its queue
 * has no pending jobs. The claim picked its jobs through the primary key and
 * a Sort of the whole queue (30-300 ms a claim) instead of the claim index in
 * order. The first test makes exactly that state and restarts the server
 * with `-m immediate`; the second claims on a new, small table first, as the
 * driver's prepared statement then kept a plan that updated claimed rows
 * with a sequential scan once the table was large. Both read the plans of
 * the claims the backend runs, as auto_explain logs them to the client. The
 * third does the same for complete and its retention steps (issue 11),
 * planned while the table was small. The fourth does it for claims under
 * a group limit (issue 12): planned while their queue had a lane or two,
 * claims over a thousand lanes that serve, drop, park and unpark lanes
 * must still read only the lanes they name, never every lane, and take
 * their jobs by the row address they read, never by a primary-key probe.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createQueue, type Queue } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";

/** Bun's default per-test limit is 5 s; these fill tables and restart. */
const SLOW = { timeout: 120_000 };
const SCHEMA = "plan_test";
const T0 = 1_800_000_000_000;

/** A node of an EXPLAIN (FORMAT JSON) plan. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Parent Relationship"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "TID Cond"?: string;
  Plans?: PlanNode[];
}

/** Enqueues `n` jobs of type "noop", 5,000 a call. */
async function fill(queue: Queue, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5_000) {
    await queue.enqueueMany(
      Array.from(
        { length: Math.min(5_000, n - i) },
        () => ({ type: "noop", data: {} }),
      ),
    );
  }
}

/** Every node of a plan, depth first. */
function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Scans of the jobs table under `plan`, not counting its subplans. */
function scansBelow(plan: PlanNode): PlanNode[] {
  const own = (plan.Plans ?? []).filter((p) =>
    p["Parent Relationship"] !== "InitPlan" &&
    p["Parent Relationship"] !== "SubPlan"
  );
  return own.flatMap((p) => [
    ...(p["Relation Name"] === "jobs" ? [p] : []),
    ...scansBelow(p),
  ]);
}

/** What the plans of some statements do with the jobs table. */
function summary(plans: PlanNode[]): {
  scans: string[];
  sortedScans: string[];
} {
  const all = plans.flatMap(nodes);
  const name = (n: PlanNode) =>
    `${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`;
  return {
    scans: all.filter((n) => n["Relation Name"] === "jobs").map(name),
    // A Sort (or a hash) over rows read from the table: the bad plan.
    sortedScans: all.filter((n) => /Sort|Hash/.test(n["Node Type"]))
      .flatMap(scansBelow).map(name),
  };
}

/**
 * Asserts that `plans` read the jobs table only through the claim and lease
 * indexes in order (no Sort or hash over rows read) and change rows found by
 * id (TID scans): no sequential, bitmap or primary-key scan.
 */
function assertIndexed(plans: PlanNode[], expiry: boolean): void {
  const { scans, sortedScans } = summary(plans);
  assert.deepEqual(sortedScans, [], "no Sort or hash over rows read");
  assert.ok(scans.includes("Index Scan using jobs_claim"), `${scans}`);
  if (expiry) {
    assert.ok(scans.includes("Index Scan using jobs_lease"), `${scans}`);
  }
  for (const scan of scans) {
    assert.match(
      scan,
      /^(Index Scan using jobs_(claim|lease)|Tid Scan|ModifyTable)$/,
      `no other scan of the jobs table: ${scans}`,
    );
  }
}

/**
 * Asserts that `plans` read the jobs table only row by row: primary-key
 * probes on queue and id, ctids, and the retention indexes.
 */
function assertFinishIndexed(plans: PlanNode[]): void {
  const jobs = plans.flatMap(nodes).filter((n) =>
    n["Relation Name"] === "jobs"
  );
  const seen = new Set<string>();
  for (const n of jobs) {
    const what = `${n["Node Type"]}${
      n["Index Name"] ? ` using ${n["Index Name"]}` : ""
    }`;
    seen.add(what);
    assert.match(
      what,
      /^(Index (Only )?Scan( Backward)? using jobs_(pkey|retained)|Tid Scan|ModifyTable)$/,
      `no other scan of the jobs table: ${what}`,
    );
    if (n["Index Name"] === "jobs_pkey") {
      assert.match(n["Index Cond"] ?? "", /queue = .*id = /, "a probe by id");
    }
  }
  assert.ok(seen.has("Index Scan using jobs_pkey"), [...seen].join());
  assert.ok(
    [...seen].some((s) => s.endsWith("using jobs_retained")),
    [...seen].join(),
  );
}

/**
 * Asserts that no step of `plans` (run with ANALYZE) read more lanes,
 * kept or filtered out, over all its loops, than `most`: each lane is
 * found by its group or read in turn order up to the claim's limit (four
 * times it, for the probe of plenty), never every lane of the queue.
 */
function assertLanesRead(plans: PlanNode[], most: number): void {
  const lanes = plans.flatMap(nodes).filter((n) =>
    n["Relation Name"] === "lanes" && n["Node Type"] !== "ModifyTable"
  );
  assert.ok(lanes.length > 0, "the claim read lanes");
  for (const n of lanes) {
    const read =
      ((n["Actual Rows"] ?? 0) + (n["Rows Removed by Filter"] ?? 0)) *
      (n["Actual Loops"] ?? 1);
    assert.ok(
      read <= most,
      `${n["Node Type"]}${
        n["Index Name"] ? ` using ${n["Index Name"]}` : ""
      } (${n["Index Cond"] ?? n["TID Cond"] ?? ""}) read ${read} lanes`,
    );
  }
}

describe("postgres claim plan", () => {
  let server: PostgresServer;

  before(async () => {
    server = await startPostgres();
  });

  after(() => {
    server?.destroy();
  });

  /** Runs `fn` on a client whose every statement's plan comes back. */
  async function traced(
    fn: (sql: postgres.Sql, plans: PlanNode[]) => Promise<void>,
    analyze = false,
  ): Promise<PlanNode[]> {
    const plans: PlanNode[] = [];
    const sql = postgres(server.url, {
      max: 1,
      connection: {
        session_preload_libraries: "auto_explain",
        "auto_explain.log_min_duration": "0",
        "auto_explain.log_nested_statements": "on",
        "auto_explain.log_level": "notice",
        "auto_explain.log_format": "json",
        "auto_explain.log_analyze": analyze ? "on" : "off",
      },
      onnotice: (notice) => {
        const text = String(notice.message);
        const at = text.indexOf("{");
        if (at >= 0) plans.push(JSON.parse(text.slice(at)).Plan);
      },
    });
    try {
      await fn(sql, plans);
    } finally {
      await sql.end();
    }
    return plans;
  }

  /**
   * The stale state: a batch of 20,000 jobs ran and finished while a new
   * queue had its first few jobs, and autovacuum analyzed the table then
   * (VACUUM ANALYZE here), so the statistics say that queue holds a handful
   * of pending jobs; then `pending` more arrived, `processing` of them were
   * claimed (their leases ran out since), and the server crashed.
   */
  async function staleState(pending: number, processing: number) {
    const backend = postgresBackend({ url: server.url, schema: SCHEMA });
    const make = (name: string) =>
      createQueue({ backend, name, clock: () => T0 });
    const first = make("first");
    const second = make("second");
    await fill(first, 20_000);
    await fill(second, 5);
    const admin = postgres(server.url, { max: 1, onnotice: () => {} });
    // What a worker leaves behind: finished jobs, dead claim-index entries.
    await admin.unsafe(
      `UPDATE ${SCHEMA}.jobs SET status = 'complete' WHERE queue = 'first'`,
    );
    await admin.unsafe(`VACUUM ANALYZE ${SCHEMA}.jobs`);
    await fill(second, pending);
    assert.equal((await second.claimMany(processing)).length, processing);
    await backend.close();
    await admin.end();
    server.crashRestart();
    const again = postgres(server.url, { max: 1, onnotice: () => {} });
    const [row] = await again.unsafe(
      "SELECT n_live_tup::int AS live FROM pg_stat_user_tables " +
        "WHERE schemaname = $1 AND relname = 'jobs'",
      [SCHEMA],
    );
    await again.end();
    // The reported symptom: crash recovery reset the activity statistics.
    assert.equal(row?.live ?? 0, 0);
  }

  test(
    "with statistics from before a big batch and a crash restart, claims walk the claim index in order and expiry walks the lease index",
    SLOW,
    async () => {
      await staleState(20_000, 50);
      let claimed = 0;
      let expiredFirst = 0;
      const plans = await traced(async (sql) => {
        const backend = postgresBackend({ sql, schema: SCHEMA });
        // An hour later: the 50 leases have run out.
        const queue = createQueue({
          backend,
          name: "second",
          clock: () => T0 + 3_600_000,
        });
        const jobs = await queue.claimMany(10);
        claimed = jobs.length;
        expiredFirst = (await queue.claimMany(100, { types: ["noop"] }))
          .filter((j) => j.attempt === 2).length;
        await backend.close();
      });
      assert.equal(claimed, 10);
      assert.ok(expiredFirst > 0, "the expired jobs were claimed again");
      assertIndexed(plans, true);
    },
  );

  test(
    "a claim planned while the table was new and small still changes its rows by id once the table is large",
    SLOW,
    async () => {
      let claimed = 0;
      let last: PlanNode[] = [];
      await traced(async (sql, plans) => {
        const backend = postgresBackend({ sql, schema: "plan_fresh" });
        const queue = createQueue({ backend, name: "fresh" });
        // Claims on a table of a job or two: plans for a small table,
        // which the driver's prepared statement keeps.
        for (let i = 0; i < 8; i++) {
          await queue.enqueue("noop", {});
          await queue.complete((await queue.claim())!, null);
        }
        await fill(queue, 20_000);
        plans.length = 0;
        claimed = (await queue.claimMany(10)).length;
        last = [...plans];
        await backend.close();
      });
      assert.equal(claimed, 10);
      assertIndexed(last, false);
    },
  );

  test(
    "complete and its retention steps, planned while the table was small, probe jobs by id and read the retention indexes in order once it is large, in batches and one by one",
    SLOW,
    async () => {
      let last: PlanNode[] = [];
      let one: PlanNode[] = [];
      let left = 0;
      await traced(async (sql, plans) => {
        const backend = postgresBackend({ sql, schema: "plan_finish" });
        const queue = createQueue({
          backend,
          name: "finish",
          removeOnComplete: { count: 5 },
        });
        for (let i = 0; i < 8; i++) {
          await queue.enqueue("noop", {});
          await queue.complete((await queue.claim())!, null);
        }
        await fill(queue, 20_000);
        const jobs = await queue.claimMany(50);
        plans.length = 0;
        await Promise.all(jobs.map((job) => queue.complete(job, null)));
        last = [...plans];
        const job = (await queue.claim())!;
        plans.length = 0;
        await queue.complete(job, null); // a batch of one: its own function
        one = [...plans];
        left = (await queue.stats()).complete;
        await backend.close();
      });
      assert.equal(left, 5);
      assertFinishIndexed(last);
      assertFinishIndexed(one);
    },
  );

  test(
    "grouped claims planned while their queue had a lane or two read only the lanes they name once it has a thousand: serving, dropping, parking and unparking",
    SLOW,
    async () => {
      const got: number[] = [];
      const read: PlanNode[] = [];
      await traced(async (sql, plans) => {
        const backend = postgresBackend({ sql, schema: "plan_groups" });
        const queue = createQueue({ backend, name: "groups" });
        await queue.setLimits({ groups: { concurrency: 1 } });
        // Claims over one or two lanes: plans for a tiny lanes table, which
        // the claim functions keep for the session (generic plans).
        for (let i = 0; i < 8; i++) {
          await queue.enqueue("noop", {}, { group: `g${i % 2}` });
          await queue.complete((await queue.claim())!, null);
        }
        // 1,000 groups, in this order of turns: g0..g99 hold one job, the
        // others ten.
        const jobs = (from: number, to: number) =>
          Array.from({ length: to - from }, (_, j) => ({
            type: "noop",
            data: {},
            options: { group: `g${from + j}` },
          }));
        await queue.enqueueMany(jobs(0, 1_000));
        for (let i = 0; i < 9; i++) await queue.enqueueMany(jobs(100, 1_000));
        // What autovacuum would see now: a thousand lanes, every one
        // claimable (the claim then plans its statements again).
        await sql.unsafe("ANALYZE plan_groups.lanes");
        /** Claims `n` jobs, keeping the plans of its statements. */
        const traceClaim = async (n: number) => {
          plans.length = 0;
          const claimed = await queue.claimMany(n);
          got.push(claimed.length);
          read.push(...plans);
          return claimed;
        };
        // Serves g0..g149 and drops the lanes of g0..g99, left empty.
        await traceClaim(150);
        // Every group left is full after this one (not traced: it reads as
        // many lanes as it may serve, 850).
        const running = await queue.claimMany(1_000);
        got.push(running.length);
        // Finds every lane full: parks them, 150 a round.
        await traceClaim(150);
        // 300 groups stop: the next claim serves 150 of their parked lanes
        // as they stand and unparks the other 150.
        const stopping = running.filter((job) =>
          Number(job.group!.slice(1)) < 400
        );
        for (const job of stopping) await queue.complete(job, null);
        await traceClaim(150);
        await backend.close();
      }, true);
      assert.deepEqual(got, [150, 850, 0, 150]);
      // No step reads more lanes than four times what the claim may serve
      // (the probe of whether that many claimable lanes come after those
      // a round read, migration 22), nor every lane of the queue.
      assertLanesRead(read, 600);
      // A round takes each job by the row address its heads read
      // (migration 23): the claims find jobs through the group indexes
      // and change them by address, never probing the primary key.
      const jobs = read.flatMap(nodes).filter((n) =>
        n["Relation Name"] === "jobs"
      ).map((n) =>
        `${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`
      );
      assert.ok(jobs.includes("Tid Scan"), jobs.join());
      assert.deepEqual(
        jobs.filter((scan) => scan.includes("jobs_pkey")),
        [],
        jobs.join(),
      );
    },
  );
});
