/**
 * §4.2 Lease tokens: a token must not be guessable from its job's id or
 * from the order of claims (fencing rests on it: a stale worker, or anyone
 * who knows a job's id, must not be able to forge the current lease). The
 * cases check what random tokens show: each is long enough to hold 64 bits,
 * and tokens of different claims share no run of 8 characters. Time moves
 * on a fake clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../src/errors.ts";
import type { Case } from "./_context.ts";

/** Fewer characters than this cannot carry 64 random bits (even base64). */
const MIN_LENGTH = 11;
/** Two unrelated random tokens share no run of this many characters. */
const RUN = 8;

/** The longest run of characters that both strings hold. */
function sharedRun(a: string, b: string): string {
  let best = "";
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      let n = 0;
      while (i + n < a.length && j + n < b.length && a[i + n] === b[j + n]) {
        n++;
      }
      if (n > best.length) best = a.slice(i, i + n);
    }
  }
  return best;
}

/** Fails when a token is short, holds its job's id, or echoes another. */
function assertUnrelated(tokens: { id: string; token: string }[]): void {
  for (const { id, token } of tokens) {
    assert.ok(
      token.length >= MIN_LENGTH,
      `token ${JSON.stringify(token)} is too short to be random`,
    );
    assert.ok(!token.includes(id), `token ${token} holds the job's id`);
  }
  for (let i = 0; i < tokens.length; i++) {
    for (let j = i + 1; j < tokens.length; j++) {
      const a = tokens[i]!.token;
      const b = tokens[j]!.token;
      const run = sharedRun(a, b);
      assert.ok(
        run.length < RUN,
        `tokens ${a} and ${b} of two claims share ${JSON.stringify(run)}`,
      );
    }
  }
}

/** The lease token cases. */
export const tokenCases: Case[] = [
  {
    name: "a job claimed again after its lease ran out gets an unrelated token",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null, { maxAttempts: 5 });
      const seen: { id: string; token: string }[] = [];
      for (let round = 0; round < 3; round++) {
        const job = await queue.claim({ leaseMs: 1_000 });
        assert.equal(job?.id, id, `claim ${round + 1} gets the job`);
        seen.push({ id, token: job!.lease.token });
        clock.advance(1_001);
      }
      assert.equal(new Set(seen.map((s) => s.token)).size, 3);
      assertUnrelated(seen);
    },
  },
  {
    name: "lease tokens are not derived from job ids or the order of claims",
    async run(ctx) {
      const queue = ctx.queue();
      const ids = await queue.enqueueMany(
        Array.from({ length: 12 }, (_, i) => ({ type: "t", data: i })),
      );
      const seen: { id: string; token: string }[] = [];
      for (let i = 0; i < ids.length; i++) {
        const job = await queue.claim();
        assert.ok(job, `claim ${i + 1}`);
        seen.push({ id: job.id, token: job.lease.token });
      }
      assertUnrelated(seen);
    },
  },
  {
    name: "each job of one claim gets its own token, which fences that job",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.enqueueMany(
        Array.from({ length: 4 }, (_, i) => ({ type: "t", data: i })),
      );
      const jobs = await queue.claimMany(4);
      assert.equal(jobs.length, 4);
      const tokens = jobs.map((j) => j.lease.token);
      assert.equal(new Set(tokens).size, 4, "tokens differ within a claim");
      for (const job of jobs) {
        assert.ok(job.lease.token.length >= MIN_LENGTH);
        assert.ok(!job.lease.token.includes(job.id));
      }
      // Each lease holds with its own token and no other job's.
      const [a, b] = jobs;
      await assert.rejects(
        queue.complete({
          ...a!,
          lease: { ...a!.lease, token: b!.lease.token },
        }),
        LeaseLostError,
      );
      for (const job of jobs) await queue.complete(job, null);
      assert.equal((await queue.stats()).complete, 4);
    },
  },
];
