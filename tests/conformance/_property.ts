/**
 * A property-based case: random command sequences run against the backend
 * (through a queue with a fake clock) and against a small reference model of
 * §4; after every command the observable results must agree: claimed ids in
 * order, returned values and errors, every job's status, attempt and runAt,
 * and stats.
 *
 * After the clock moves, a claim with a type filter that matches nothing
 * reaps expired leases, so both sides agree when a lease ran out.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { LeaseLostError } from "../../src/errors.ts";
import type { Queue } from "../../src/queue_types.ts";
import type { ClaimedJob, JobStatus, StatusCounts } from "../../src/types.ts";
import type { Case } from "./_context.ts";

type Cmd =
  | {
    k: "enqueue";
    type: "a" | "b";
    priority: number;
    delay: number;
    maxAttempts: number;
  }
  | {
    k: "claim";
    types: readonly string[] | null;
    limit: number;
    leaseMs: number;
  }
  | { k: "complete"; h: number }
  | { k: "heartbeat"; h: number }
  | { k: "fail"; h: number; retry: boolean }
  | { k: "cancel"; j: number }
  | { k: "retry"; j: number }
  | { k: "remove"; j: number }
  | { k: "advance"; ms: number };

const BACKOFF = 700;
const HEARTBEAT_MS = 1_500;

interface ModelJob {
  id: string;
  type: string;
  priority: number;
  seq: number;
  status: JobStatus;
  runAt: number;
  attempt: number;
  maxAttempts: number;
  token: number;
  until: number;
}

/** The reference: §4 for one queue, as plainly as it can be written. */
class Model {
  jobs = new Map<string, ModelJob>();
  seq = 0;
  tokens = 0;
  now: number;
  constructor(now: number) {
    this.now = now;
  }

  enqueue(id: string, c: Extract<Cmd, { k: "enqueue" }>): void {
    this.jobs.set(id, {
      id,
      type: c.type,
      priority: c.priority,
      seq: this.seq++,
      status: "pending",
      runAt: this.now + c.delay,
      attempt: 0,
      maxAttempts: c.maxAttempts,
      token: 0,
      until: 0,
    });
  }

  reap(): void {
    for (const j of this.jobs.values()) {
      if (j.status !== "processing" || j.until > this.now) continue;
      if (j.attempt < j.maxAttempts) {
        j.status = "pending";
        j.runAt = this.now;
      } else j.status = "failed";
    }
  }

  claim(
    types: readonly string[] | null,
    limit: number,
    leaseMs: number,
  ): ModelJob[] {
    this.reap();
    const due = [...this.jobs.values()]
      .filter((j) =>
        j.status === "pending" && j.runAt <= this.now &&
        (types === null || types.includes(j.type))
      )
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .slice(0, limit);
    for (const j of due) {
      j.status = "processing";
      j.attempt++;
      j.token = ++this.tokens;
      j.until = this.now + leaseMs;
    }
    return due;
  }

  /** The job if the handle still holds its lease. */
  held(h: { id: string; token: number }): ModelJob | "lost" {
    const j = this.jobs.get(h.id);
    return j?.status === "processing" && j.token === h.token ? j : "lost";
  }

  stats(): Record<string, unknown> {
    const zero = (): StatusCounts => ({
      waiting: 0,
      pending: 0,
      processing: 0,
      complete: 0,
      failed: 0,
      cancelled: 0,
    });
    const all = zero();
    const byType: Record<string, StatusCounts> = {};
    for (const j of this.jobs.values()) {
      all[j.status]++;
      (byType[j.type] ??= zero())[j.status]++;
    }
    return { ...all, byType };
  }
}

const commands: fc.Arbitrary<Cmd[]> = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        k: fc.constant("enqueue" as const),
        type: fc.constantFrom("a" as const, "b" as const),
        priority: fc.constantFrom(1, 5, 10),
        delay: fc.constantFrom(0, 0, 500, 1_500),
        maxAttempts: fc.constantFrom(1, 2, 3),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("claim" as const),
        types: fc.constantFrom(null, ["a"], ["b"], ["b", "a"]),
        limit: fc.integer({ min: 1, max: 3 }),
        leaseMs: fc.constantFrom(1_000, 2_000),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constantFrom("complete" as const, "heartbeat" as const),
        h: fc.nat(20),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("fail" as const),
        h: fc.nat(20),
        retry: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constantFrom(
          "cancel" as const,
          "retry" as const,
          "remove" as const,
        ),
        j: fc.nat(20),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("advance" as const),
        ms: fc.constantFrom(300, 1_000, 2_500),
      }),
    },
  ),
  { minLength: 10, maxLength: 25, size: "max" },
);

/** Runs a lease-holding call, mapping LeaseLostError to "lost". */
async function leased<T>(call: () => Promise<T>): Promise<T | "lost"> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof LeaseLostError) return "lost";
    throw err;
  }
}

async function runSequence(queue: Queue, model: Model, cmds: Cmd[]) {
  const ids: string[] = [];
  const handles: { job: ClaimedJob; token: number }[] = [];
  const log: string[] = [];
  for (const c of cmds) {
    log.push(JSON.stringify(c));
    const where = () => `after:\n  ${log.join("\n  ")}`;
    let got: unknown;
    let want: unknown;
    if (c.k === "enqueue") {
      const id = await queue.enqueue(c.type, null, {
        priority: c.priority,
        delay: c.delay,
        maxAttempts: c.maxAttempts,
      });
      ids.push(id);
      model.enqueue(id, c);
    } else if (c.k === "claim") {
      const claimed = await queue.claimMany(
        c.limit,
        c.types === null ? { leaseMs: c.leaseMs } : {
          types: c.types,
          leaseMs: c.leaseMs,
        },
      );
      const expected = model.claim(c.types, c.limit, c.leaseMs);
      got = claimed.map((j) => [j.id, j.attempt, j.lease.until]);
      want = expected.map((j) => [j.id, j.attempt, j.until]);
      claimed.forEach((job, i) =>
        handles.push({ job, token: expected[i]?.token ?? -1 })
      );
    } else if (c.k === "advance") {
      model.now += c.ms;
      got = (await queue.claim({ types: ["none"] }))?.id ?? null;
      model.reap();
      want = null;
    } else if (c.k === "complete" || c.k === "heartbeat" || c.k === "fail") {
      if (handles.length === 0) continue;
      const { job, token } = handles[c.h % handles.length]!;
      const m = model.held({ id: job.id, token });
      if (c.k === "complete") {
        got = await leased(() => queue.complete(job, null));
        want = m === "lost" ? "lost" : undefined;
        if (m !== "lost") m.status = "complete";
      } else if (c.k === "heartbeat") {
        got = await leased(async () =>
          (await queue.heartbeat(job, { leaseMs: HEARTBEAT_MS })).until
        );
        want = m === "lost" ? "lost" : (m.until = model.now + HEARTBEAT_MS);
      } else {
        got = await leased(() =>
          queue.fail(job, new Error("x"), { retry: c.retry })
        );
        if (m === "lost") want = "lost";
        else if (c.retry && m.attempt < m.maxAttempts) {
          want = m.status = "pending";
          m.runAt = model.now + BACKOFF;
        } else want = m.status = "failed";
      }
    } else {
      if (ids.length === 0) continue;
      const id = ids[c.j % ids.length]!;
      const m = model.jobs.get(id);
      if (c.k === "cancel") {
        got = await queue.cancel(id);
        want = m?.status === "pending" || m?.status === "processing";
        if (want) m!.status = "cancelled";
      } else if (c.k === "retry") {
        got = await queue.retry(id);
        want = m?.status === "failed" || m?.status === "cancelled";
        if (want) {
          Object.assign(m!, {
            status: "pending",
            attempt: 0,
            runAt: model.now,
          });
        }
      } else {
        got = await queue.remove(id);
        want = m !== undefined;
        model.jobs.delete(id);
      }
    }
    assert.deepEqual(got, want, `result of ${JSON.stringify(c)} ${where()}`);
    const listed = (await queue.list({ limit: 1_000 })).jobs.map((
      j,
    ) => [j.id, j.status, j.attempt, j.status === "pending" ? j.runAt : 0]);
    const modelled = [...model.jobs.values()].map((
      j,
    ) => [j.id, j.status, j.attempt, j.status === "pending" ? j.runAt : 0]);
    assert.deepEqual(listed, modelled, `jobs ${where()}`);
    assert.deepEqual(await queue.stats(), model.stats(), `stats ${where()}`);
  }
}

/** The property-based case. */
export const propertyCases: Case[] = [
  {
    name:
      "random command sequences behave as the reference model (property-based)",
    timeout: 120_000,
    async run(ctx) {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          const model = new Model(Date.now());
          const queue = ctx.queue({
            clock: () => model.now,
            backoff: { type: "fixed", delay: BACKOFF },
          });
          try {
            await runSequence(queue, model, cmds);
          } finally {
            await queue.close();
          }
        }),
        { numRuns: 25 },
      );
    },
  },
];
