/**
 * Limits and groups on the PostgreSQL backend (SPEC §7.3, §7.4), what the
 * conformance suite cannot see: the plans a claim runs (the plain path
 * never enters claim_limited; a claim among 10,000 groups, half of them
 * parked, reads about the rows it reads among 10), the running counts and
 * lanes after every way out of "processing" (a lease running out
 * included), limits kept across reopening, and the claim cost with 1,000
 * and 100,000 pending jobs in groups (printed, not asserted). One
 * throwaway server for the file; each test has a schema of its own.
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

/** Bun's default per-test limit is 5 s; these fill tables. */
const SLOW = { timeout: 300_000 };
const T0 = 1_800_000_000_000;

/** A node of an EXPLAIN (FORMAT JSON) plan. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe("postgres limits and groups", () => {
  let server: PostgresServer;

  before(async () => {
    server = await startPostgres();
  });

  after(() => {
    server?.destroy();
  });

  /** A queue on its own schema with a clock the test moves. */
  function open(schema: string, sql?: postgres.Sql) {
    const time = { now: T0 };
    const backend = postgresBackend(
      sql === undefined ? { url: server.url, schema } : { sql, schema },
    );
    const queue = createQueue({ backend, name: "q", clock: () => time.now });
    return { backend, queue, time };
  }

  /** A client of the test's own, on one connection (the test ends it). */
  const ownClient = () => postgres(server.url, { max: 1, onnotice: () => {} });

  /**
   * Records every update of schema's lanes (a trigger); the function
   * returned takes the updates recorded since its last call, each as
   * `group:wake`, sorted.
   */
  async function laneWrites(
    admin: postgres.Sql,
    schema: string,
  ): Promise<() => Promise<string[]>> {
    await admin.unsafe(`
      CREATE TABLE ${schema}.lane_writes (grp text, wake float8);
      CREATE FUNCTION ${schema}.lane_written() RETURNS trigger
      LANGUAGE plpgsql AS $w$ BEGIN
        INSERT INTO ${schema}.lane_writes VALUES (NEW.grp, NEW.wake);
        RETURN NULL;
      END $w$;
      CREATE TRIGGER lanes_written AFTER UPDATE ON ${schema}.lanes
      FOR EACH ROW EXECUTE FUNCTION ${schema}.lane_written();`);
    return async () => {
      const rows = await admin.unsafe(
        `DELETE FROM ${schema}.lane_writes RETURNING grp, wake`,
      );
      return rows.map((r) => `${r.grp}:${r.wake}`).sort();
    };
  }

  /** Runs `fn` on a client whose statements' plans (analyzed) come back. */
  async function traced(
    fn: (sql: postgres.Sql, plans: PlanNode[]) => Promise<void>,
  ): Promise<void> {
    const plans: PlanNode[] = [];
    const sql = postgres(server.url, {
      max: 1,
      connection: {
        session_preload_libraries: "auto_explain",
        "auto_explain.log_min_duration": "0",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_timing": "off",
        "auto_explain.log_nested_statements": "on",
        "auto_explain.log_level": "notice",
        "auto_explain.log_format": "json",
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
  }

  /** Rows read by the scans of `plans` (per loop times loops), and which. */
  function reads(plans: PlanNode[]): { rows: number; scans: Set<string> } {
    let rows = 0;
    const scans = new Set<string>();
    for (const n of plans.flatMap(nodes)) {
      if (
        n["Relation Name"] === undefined || n["Node Type"] === "ModifyTable"
      ) {
        continue;
      }
      const read = (n["Actual Rows"] ?? 0) * (n["Actual Loops"] ?? 1);
      rows += read;
      scans.add(
        `${n["Node Type"]} on ${n["Relation Name"]}${
          n["Index Name"] ? ` using ${n["Index Name"]}` : ""
        }`,
      );
    }
    return { rows, scans };
  }

  /** Enqueues `groups` groups of `per` jobs each, 5,000 a call. */
  async function fill(queue: Queue, groups: number, per: number) {
    const all = Array.from({ length: groups * per }, (_, i) => ({
      type: "t",
      data: i,
      options: { group: `g${i % groups}` },
    }));
    for (let i = 0; i < all.length; i += 5_000) {
      await queue.enqueueMany(all.slice(i, i + 5_000));
    }
  }

  /**
   * Opens schema `name`'s queue under `groups: { concurrency: 1 }`, fills
   * it with `per` jobs in each of `groups` groups and records its lane
   * writes (laneWrites); `done` ends the client and the backend.
   */
  async function groupedLanes(name: string, groups: number, per: number) {
    const { backend, queue } = open(name);
    const admin = ownClient();
    await queue.setLimits({ groups: { concurrency: 1 } });
    await fill(queue, groups, per);
    const writes = await laneWrites(admin, name);
    const done = async () => {
      await admin.end();
      await backend.close();
    };
    return { queue, admin, writes, done };
  }

  /** The writes laneWrites gives for the jobs' lanes, with `wake`, sorted. */
  const wrote = (jobs: { group?: string | undefined }[], wake: string) =>
    jobs.map((j) => `${j.group}:${wake}`).sort();

  test(
    "with no limits and no grouped job a claim stays on the plain path: it never enters claim_limited, and probes the lanes, arrivals and limits once each",
    SLOW,
    async () => {
      await traced(async (sql, plans) => {
        const { backend, queue } = open("plain", sql);
        await queue.enqueueMany([1, 2, 3].map((i) => ({ type: "t", data: i })));
        await queue.claim(); // migrations and first plans out of the way
        plans.length = 0;
        assert.ok(await queue.claim());
        const plain = reads(plans).scans;
        assert.ok(
          plain.has("Index Scan on jobs using jobs_claim"),
          [...plain].join(),
        );
        for (const table of ["turns", "rate_log"]) {
          assert.ok(
            ![...plain].some((s) => s.includes(` on ${table}`)),
            `${table} untouched: ${[...plain].join()}`,
          );
        }
        const probes = [...plain].filter((s) =>
          /on (lanes|arrivals|limits)/.test(s)
        );
        assert.equal(probes.length, 3, probes.join());
        await queue.enqueue("t", 4, { group: "g" });
        plans.length = 0;
        await queue.claimMany(5);
        assert.ok(
          [...reads(plans).scans].some((s) => s.includes(" on turns")),
          "a grouped job takes the claim through claim_limited",
        );
        await backend.close();
      });
    },
  );

  test(
    "a claim among 10,000 groups, half of them parked at their concurrency, reads about the rows it reads among 20, through indexes only",
    SLOW,
    async () => {
      const cost = async (schema: string, groups: number) => {
        let rows = 0;
        let scans = new Set<string>();
        await traced(async (sql, plans) => {
          const { backend, queue } = open(schema, sql);
          await queue.setLimits({ groups: { concurrency: 1 } });
          await fill(queue, groups, 3);
          // Half the groups get a running job, so their lanes park.
          for (let n = 0; n < groups / 2;) {
            n += (await queue.claimMany(Math.min(500, groups / 2 - n))).length;
          }
          plans.length = 0;
          assert.equal((await queue.claimMany(10)).length, 10);
          ({ rows, scans } = reads(plans));
          await backend.close();
        });
        return { rows, scans };
      };
      const small = await cost("cost_small", 20);
      const large = await cost("cost_large", 10_000);
      for (const scan of large.scans) {
        assert.doesNotMatch(scan, /Seq Scan|Bitmap/, [...large.scans].join());
      }
      assert.ok(
        large.rows <= small.rows * 2 + 20,
        `rows read: ${large.rows} among 10,000 groups, ${small.rows} among 20`,
      );
    },
  );

  test(
    "every way out of processing frees a group's slot exactly once, a lease running out included, and leaves no lane or arrival behind",
    SLOW,
    async () => {
      const { backend, queue, time } = open("ways");
      const admin = ownClient();
      await queue.setLimits({ groups: { concurrency: 1 } });
      const ids = await queue.enqueueMany(
        [0, 1, 2, 3, 4, 5, 6].map((i) => ({
          type: "t",
          data: i,
          options: { group: "g" },
        })),
      );
      const running = async () =>
        (await admin.unsafe(
          "SELECT count(*)::int AS n FROM ways.jobs WHERE job_group = 'g' AND status = 'processing'",
        ))[0]!.n as number;
      const take = async (leaseMs = 600_000) => {
        const jobs = await queue.claimMany(5, { leaseMs });
        assert.equal(jobs.length, 1, "one at a time");
        assert.equal(await running(), 1);
        assert.equal((await queue.claimMany(5)).length, 0, "the slot is full");
        return jobs[0]!;
      };
      await queue.complete(await take(), null);
      await queue.fail(await take(), "boom", { retry: false });
      await queue.release([await take()]);
      const dying = await take(1_000);
      time.now += 1_000; // its worker died: the lease runs out
      const again = await take();
      assert.equal(again.id, dying.id);
      assert.equal(again.attempt, dying.attempt + 1);
      await queue.cancel(again.id);
      await queue.remove((await take()).id);
      await queue.fail(await take(), "again", { retry: true });
      await queue.complete(await take(), null);
      time.now += 3_600_000; // the retried job is due
      let left = await queue.claimMany(5);
      while (left.length > 0) {
        for (const job of left) await queue.complete(job, null);
        left = await queue.claimMany(5);
      }
      assert.equal(await running(), 0);
      const stats = await queue.stats();
      assert.equal(stats.pending + stats.processing, 0, JSON.stringify(stats));
      assert.ok(ids.length > 0);
      const [rest] = await admin.unsafe(
        "SELECT (SELECT count(*) FROM ways.lanes)::int AS lanes, (SELECT count(*) FROM ways.arrivals)::int AS arrivals",
      );
      assert.deepEqual(rest, { lanes: 0, arrivals: 0 });
      await admin.end();
      await backend.close();
    },
  );

  test(
    "a claim serves the lanes its groups' stops unparked with one write each, and unparks at its end the lanes it did not serve; with enough lanes claimable, the stops unpark their lanes at once",
    SLOW,
    async () => {
      const { queue, writes, done } = await groupedLanes("fold", 20, 5);
      const first = await queue.claimMany(20);
      assert.equal(new Set(first.map((j) => j.group)).size, 20);
      await writes();
      // Every group's job stops: the next claim serves all 20 lanes, each
      // parked again (full) by the one write that serves it.
      for (const job of first) await queue.complete(job, null);
      const second = await queue.claimMany(20);
      assert.equal(new Set(second.map((j) => j.group)).size, 20);
      const parked = first.map((j) => `${j.group}:Infinity`).sort();
      assert.deepEqual(await writes(), parked);
      // A claim that serves 5 of the 20 unparks the other 15 as it ends,
      // and the next claim serves them.
      for (const job of second) await queue.complete(job, null);
      const five = await queue.claimMany(5);
      assert.equal(five.length, 5);
      const served = new Set(five.map((j) => j.group));
      const expected = first.map((j) =>
        `${j.group}:${served.has(j.group) ? "Infinity" : "null"}`
      ).sort();
      assert.deepEqual(await writes(), expected);
      const rest = await queue.claimMany(20);
      assert.deepEqual(
        rest.map((j) => j.group).sort(),
        first.map((j) => j.group).filter((g) => !served.has(g)).sort(),
      );
      await writes();
      // With as many lanes claimable as a claim asks for, the stops unpark
      // their lanes at once (one write each) and the claim serves the
      // lanes that waited longest: none of those that just stopped. The
      // lanes it fills are parked by the writes that serve them, though
      // claimable lanes are left beyond those it read (migration 21).
      for (const job of [...five, ...rest]) await queue.complete(job, null);
      const again = await queue.claimMany(5); // leaves 15 lanes unparked
      await writes();
      for (const job of again) await queue.complete(job, null);
      const ten = await queue.claimMany(10);
      assert.equal(ten.length, 10);
      const stopped = new Set(again.map((j) => j.group));
      assert.ok(ten.every((j) => !stopped.has(j.group)), "longest waiting");
      assert.deepEqual(
        await writes(),
        [
          ...again.map((j) => `${j.group}:null`),
          ...ten.map((j) => `${j.group}:Infinity`),
        ].sort(),
      );
      await done();
    },
  );

  test(
    "a claim with fewer than four times as many claimable lanes as it serves after those it read parks the lanes it fills with the writes that serve them; their stops unpark them at once while enough lanes are claimable; a claim that reads a lane full takes nothing from it and parks it",
    SLOW,
    async () => {
      const { queue, admin, writes, done } = await groupedLanes("eager", 30, 3);
      const running = async () =>
        (await admin.unsafe(
          "SELECT job_group, count(*)::int AS n FROM eager.jobs WHERE status = 'processing' GROUP BY job_group",
        )).map((r) => r.n as number);
      // 20 lanes are left beyond the 10 a claim serves, fewer than four
      // times 10: the lanes it fills are parked, each by the one write
      // that serves it.
      const first = await queue.claimMany(10);
      assert.equal(new Set(first.map((j) => j.group)).size, 10);
      assert.deepEqual(await writes(), wrote(first, "Infinity"));
      // Their stops, with 20 lanes claimable for a claim of 10, unpark
      // them at once; the claim serves the ten that waited longest.
      for (const job of first) await queue.complete(job, null);
      const second = await queue.claimMany(10);
      const served = new Set(first.map((j) => j.group));
      assert.ok(second.every((j) => !served.has(j.group)), "longest waiting");
      assert.deepEqual(
        await writes(),
        [...wrote(first, "null"), ...wrote(second, "Infinity")].sort(),
      );
      const third = await queue.claimMany(10);
      assert.ok(third.every((j) => !served.has(j.group)), "longest waiting");
      assert.deepEqual(await writes(), wrote(third, "Infinity"));
      // Now 20 groups are full and their lanes parked: a claim that may
      // take all 30 reads only the 10 claimable lanes and serves them.
      const fourth = await queue.claimMany(30);
      assert.deepEqual(
        fourth.map((j) => j.group).sort(),
        first.map((j) => j.group).sort(),
      );
      assert.deepEqual(await writes(), wrote(first, "Infinity"));
      const counts = await running();
      assert.equal(counts.length, 30);
      assert.ok(counts.every((n) => n === 1), `running: ${counts}`);
      assert.equal((await queue.claimMany(30)).length, 0, "every slot full");
      // setLimits unparks every lane: the next claim reads all 30 full,
      // takes nothing from them and parks them.
      await queue.setLimits({ groups: { concurrency: 1 } });
      assert.equal((await writes()).length, 30);
      assert.equal((await queue.claimMany(30)).length, 0, "every slot full");
      assert.deepEqual(
        await writes(),
        wrote([...first, ...second, ...third], "Infinity"),
      );
      await done();
    },
  );

  test(
    "a claim with four times as many claimable lanes as it serves after those it read leaves the lanes it fills claimable, so their stops write nothing; a claim that reads them still full takes nothing from them and parks them",
    SLOW,
    async () => {
      const { queue, admin, writes, done } = await groupedLanes(
        "plenty",
        50,
        2,
      );
      // 40 lanes are left beyond the 10 a claim serves: the lanes it fills
      // stay claimable; only their turns are written.
      const first = await queue.claimMany(10);
      assert.equal(new Set(first.map((j) => j.group)).size, 10);
      assert.deepEqual(await writes(), wrote(first, "null"));
      // Their stops find them claimable and write nothing; each claim
      // after serves the lanes that waited longest, never served yet, and
      // leaves 40 lanes beyond them.
      for (const job of first) await queue.complete(job, null);
      const served = new Set(first.map((j) => j.group));
      const later = [];
      for (let i = 0; i < 4; i++) {
        const jobs = await queue.claimMany(10);
        assert.equal(jobs.length, 10);
        assert.ok(jobs.every((j) => !served.has(j.group)), "longest waiting");
        for (const job of jobs) served.add(job.group!);
        assert.deepEqual(await writes(), wrote(jobs, "null"));
        later.push(...jobs);
      }
      // A claim of all 50 reads every lane: it serves the 10 free groups,
      // parks the 40 full ones untouched and, with no lane left beyond,
      // parks those it fills as well.
      const all = await queue.claimMany(50);
      assert.deepEqual(
        all.map((j) => j.group).sort(),
        first.map((j) => j.group).sort(),
      );
      assert.deepEqual(await writes(), wrote([...first, ...later], "Infinity"));
      const [running] = await admin.unsafe(
        "SELECT count(DISTINCT job_group)::int AS groups, count(*)::int AS jobs FROM plenty.jobs WHERE status = 'processing'",
      );
      assert.deepEqual(running, { groups: 50, jobs: 50 });
      await done();
    },
  );

  test(
    "bulk grouped enqueues add an arrival per new group, not per statement, and none once the group has a lane",
    SLOW,
    async () => {
      const { backend, queue } = open("bulk");
      const admin = ownClient();
      const arrivals = async () =>
        (await admin.unsafe(
          "SELECT count(*)::int AS n FROM bulk.arrivals",
        ))[0]!.n as number;
      await queue.setLimits({ groups: { concurrency: 1 } });
      await fill(queue, 100, 10); // 100 groups, one statement per 5,000 jobs
      for (let i = 0; i < 10; i++) await fill(queue, 100, 1);
      assert.equal(await arrivals(), 100);
      assert.equal((await queue.claimMany(100)).length, 100);
      assert.equal(await arrivals(), 0);
      await fill(queue, 100, 5);
      assert.equal(await arrivals(), 0, "every group has its lane");
      await admin.end();
      await backend.close();
    },
  );

  test(
    "a job enqueued in an open transaction to a group whose lane a claim empties meanwhile is claimed once it commits",
    SLOW,
    async () => {
      const { backend, queue } = open("held");
      const client = ownClient();
      await queue.enqueueMany([1, 2].map((i) => ({
        type: "t",
        data: i,
        options: { group: "g" },
      })));
      const first = await queue.claimMany(1);
      assert.deepEqual(first.map((j) => j.data), [1]);
      await client.begin(async (tx) => {
        await queue.enqueue("t", 3, { group: "g", tx });
        // The claim takes the lane's last job it can see: the lane stays.
        const second = await queue.claimMany(5);
        assert.deepEqual(second.map((j) => j.data), [2]);
      });
      const third = await queue.claimMany(5);
      assert.deepEqual(third.map((j) => j.data), [3]);
      await client.end();
      await backend.close();
    },
  );

  test(
    "limits, turns and rate windows are kept across reopening the backend",
    SLOW,
    async () => {
      const first = open("reopen");
      await first.queue.setLimits({
        concurrency: 2,
        rate: { max: 3, per: 60_000 },
      });
      await first.queue.enqueueMany(
        Array.from({ length: 6 }, (_, i) => ({ type: "t", data: i })),
      );
      const held = await first.queue.claimMany(5, { leaseMs: 600_000 });
      assert.equal(held.length, 2);
      await first.backend.close();
      const second = open("reopen");
      assert.deepEqual(await second.queue.getLimits(), {
        concurrency: 2,
        rate: { max: 3, per: 60_000 },
      });
      assert.equal((await second.queue.claimMany(5)).length, 0, "still full");
      await second.queue.complete(held[0]!, null);
      assert.equal((await second.queue.claimMany(5)).length, 1);
      await second.queue.complete(held[1]!, null);
      assert.equal(
        (await second.queue.claimMany(5)).length,
        0,
        "3 claims in the window",
      );
      await second.backend.close();
    },
  );

  test(
    "claim cost with 1,000 and with 100,000 pending jobs in groups (printed)",
    SLOW,
    async () => {
      const cost = async (schema: string, groups: number) => {
        const { backend, queue } = open(schema);
        await fill(queue, groups, 10);
        await queue.claimMany(10);
        const rounds = 200;
        const start = performance.now();
        for (let i = 0; i < rounds; i++) await queue.claimMany(10);
        const ms = (performance.now() - start) / rounds;
        await backend.close();
        return ms;
      };
      const small = await cost("claim_small", 100);
      const large = await cost("claim_large", 10_000);
      console.log(
        `claimMany(10): ${
          small.toFixed(2)
        } ms with 1,000 pending jobs (100 groups), ${
          large.toFixed(2)
        } ms with 100,000 (10,000 groups)`,
      );
      assert.ok(small > 0 && large > 0);
    },
  );
});
