/**
 * A property-based case of §7.4 under a group limit (§7.3): random
 * sequences of enqueues (two types, five groups and jobs without one, three
 * priorities), claims (some of one type only) and completions, where every
 * claim is checked job by job against what the queue held at that point:
 * each job claimed was due and of a type asked for, its group was under its
 * limit, no job that could have been claimed instead had a higher priority,
 * the job came first in its group (first in its type for a job without
 * one), and a claim that returned fewer jobs than asked for left none that
 * it could have claimed. Turn order between groups is left to the fixed
 * cases of _groups.ts: §7.4 asks for turns, not for one order of them.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Queue } from "../../src/queue_types.ts";
import type { ClaimedJob } from "../../src/types.ts";
import type { Case } from "./_context.ts";

type Cmd =
  | {
    k: "enqueue";
    type: "a" | "b";
    group: string | null;
    priority: number;
    n: number;
  }
  | { k: "claim"; types: readonly string[] | null; limit: number }
  | { k: "complete"; h: number };

interface Held {
  seq: number;
  type: string;
  group: string | null;
  priority: number;
  status: "pending" | "processing" | "complete";
}

/** Command sequences; `filtered`: some claims ask for one type only. */
const commands = (filtered: boolean): fc.Arbitrary<Cmd[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("enqueue" as const),
          type: fc.constantFrom("a" as const, "b" as const),
          group: fc.constantFrom(null, "g0", "g1", "g2", "g3", "g4"),
          priority: fc.constantFrom(1, 5, 5, 10),
          n: fc.integer({ min: 1, max: 4 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("claim" as const),
          types: filtered
            ? fc.constantFrom(null, null, ["a"], ["b"])
            : fc.constant(null),
          limit: fc.integer({ min: 1, max: 5 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant("complete" as const),
          h: fc.nat(30),
        }),
      },
    ),
    { minLength: 10, maxLength: 40, size: "max" },
  );

/** Runs one sequence, checking every claim; `limit` is the group limit. */
async function runSequence(queue: Queue, limit: number, cmds: Cmd[]) {
  const jobs = new Map<number, Held>();
  const running = new Map<string, number>();
  const held: ClaimedJob[] = [];
  const log: string[] = [];
  let seq = 0;
  const open = (j: Held, types: readonly string[] | null) =>
    j.status === "pending" && (types === null || types.includes(j.type)) &&
    (j.group === null || (running.get(j.group) ?? 0) < limit);
  for (const c of cmds) {
    log.push(JSON.stringify(c));
    const where = () => `after:\n  ${log.join("\n  ")}`;
    if (c.k === "enqueue") {
      const batch = Array.from({ length: c.n }, () => {
        const j: Held = {
          seq: seq++,
          type: c.type,
          group: c.group,
          priority: c.priority,
          status: "pending",
        };
        jobs.set(j.seq, j);
        return {
          type: j.type,
          data: j.seq,
          options: {
            priority: j.priority,
            ...(j.group === null ? {} : { group: j.group }),
          },
        };
      });
      await queue.enqueueMany(batch);
    } else if (c.k === "claim") {
      const claimed = await queue.claimMany(
        c.limit,
        c.types === null ? {} : { types: c.types },
      );
      assert.ok(claimed.length <= c.limit, `claimed too many ${where()}`);
      for (const job of claimed) {
        const j = jobs.get(job.data as number);
        const what = `job ${job.data} of ${
          JSON.stringify(claimed.map((x) => x.data))
        } ${where()}`;
        assert.ok(
          j !== undefined && open(j, c.types),
          `not claimable: ${what}`,
        );
        const rivals: Held[] = [...jobs.values()].filter((o) =>
          open(o, c.types)
        );
        const top = Math.max(...rivals.map((o) => o.priority));
        assert.equal(j.priority, top, `a higher priority waited: ${what}`);
        const first: Held = rivals
          .filter((o) =>
            o.group === j.group && (j.group !== null || o.type === j.type)
          )
          .sort((x, y) => y.priority - x.priority || x.seq - y.seq)[0]!;
        assert.equal(j.seq, first.seq, `not first in its group: ${what}`);
        j.status = "processing";
        if (j.group !== null) {
          running.set(j.group, (running.get(j.group) ?? 0) + 1);
        }
        held.push(job);
      }
      if (claimed.length < c.limit) {
        const left: Held[] = [...jobs.values()].filter((o) => open(o, c.types));
        assert.deepEqual(
          left.map((o) => o.seq),
          [],
          `claimable jobs left behind ${where()}`,
        );
      }
    } else if (held.length > 0) {
      const [job] = held.splice(c.h % held.length, 1);
      await queue.complete(job!, null);
      const j = jobs.get(job!.data as number)!;
      j.status = "complete";
      if (j.group !== null) running.set(j.group, running.get(j.group)! - 1);
    }
  }
}

/** One property-based group case. */
function groupProperty(name: string, filtered: boolean): Case {
  return {
    name,
    timeout: 120_000,
    async run(ctx) {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(1, 2),
          commands(filtered),
          async (limit, cmds) => {
            const queue = ctx.queue();
            try {
              await queue.setLimits({ groups: { concurrency: limit } });
              await runSequence(queue, limit, cmds);
            } finally {
              await queue.close();
            }
          },
        ),
        { numRuns: 20 },
      );
    },
  };
}

/**
 * The name of the property-based case whose claims ask for some types:
 * the PostgreSQL backend skips it (see its README section).
 */
export const SOME_TYPES_PROPERTY =
  "random claims under a group limit, some of one type only, keep priority first, FIFO within a group and the limit, and leave nothing claimable behind (property-based)";

/** The property-based group cases. */
export const groupPropertyCases: Case[] = [
  groupProperty(
    "random claims under a group limit keep priority first, FIFO within a group and the limit, and leave nothing claimable behind (property-based)",
    false,
  ),
  groupProperty(SOME_TYPES_PROPERTY, true),
];
