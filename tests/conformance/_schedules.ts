/**
 * §8 schedules: cron (in a time zone, across daylight-saving changes) and
 * `every`; exactly one job per occurrence however many queue handles and
 * workers race; missed occurrences collapse into one; replace by name,
 * unschedule, `nextRunAt`; bad input is a ValidationError; the backend's
 * fireSchedule is a compare-and-set on the version that enqueues as
 * enqueue does. Time moves on the queue's clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, newJob, sleep, uniqueName, waitFor } from "./_context.ts";

const at = (iso: string): number => Date.parse(iso);

/** The schedule cases. */
export const scheduleCases: Case[] = [
  {
    name:
      "schedule() stores cron and every schedules with their next occurrence; schedules() lists them by name; unschedule() deletes",
    async run(ctx) {
      const clock = ctx.fakeClock();
      clock.advance(at("2026-06-01T10:15:00.000Z") - clock.now);
      const queue = ctx.queue({ clock: clock.clock });
      const ping = await queue.schedule("ping", {
        every: 30_000,
        type: "ping",
      });
      assert.equal(ping.nextRunAt, clock.now + 30_000);
      const nightly = await queue.schedule("nightly", {
        cron: "0 3 * * *",
        tz: "Europe/Paris",
        type: "report",
        data: { kind: "daily" },
        options: { priority: "high", maxAttempts: 2 },
      });
      assert.equal(nightly.nextRunAt, at("2026-06-02T01:00:00.000Z"));
      const list = await queue.schedules();
      assert.deepEqual(list, [
        {
          name: "nightly",
          cron: "0 3 * * *",
          tz: "Europe/Paris",
          type: "report",
          data: { kind: "daily" },
          options: { priority: "high", maxAttempts: 2 },
          nextRunAt: at("2026-06-02T01:00:00.000Z"),
        },
        {
          name: "ping",
          every: 30_000,
          type: "ping",
          data: null,
          options: {},
          nextRunAt: clock.now + 30_000,
        },
      ]);
      const secs = await queue.schedule("s", {
        cron: "*/10 * * * * *",
        type: "t",
      });
      assert.equal(secs.nextRunAt, clock.now + 10_000, "6 fields: seconds");
      assert.equal(await queue.unschedule("ping"), true);
      assert.equal(await queue.unschedule("ping"), false);
      assert.deepEqual((await queue.schedules()).map((s) => s.name), [
        "nightly",
        "s",
      ]);
    },
  },
  {
    name:
      "a due schedule makes exactly one job per occurrence with three queue handles racing",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const first = ctx.queue({ clock: clock.clock });
      const handles = [
        first,
        ctx.queue({ clock: clock.clock, name: first.name }),
        ctx.queue({ clock: clock.clock, name: first.name }),
      ];
      const start = clock.now;
      await first.schedule("tick", { every: 1_000, type: "tick", data: 7 });
      assert.deepEqual(
        await Promise.all(handles.map((q) => q.runSchedules())),
        [0, 0, 0],
        "not due yet",
      );
      for (let n = 1; n <= 5; n++) {
        clock.advance(1_000);
        const made = await Promise.all(
          handles.flatMap((q) => [q.runSchedules(), q.runSchedules()]),
        );
        assert.equal(made.reduce((a, b) => a + b, 0), 1, `occurrence ${n}`);
      }
      const jobs = (await first.list({ limit: 100 })).jobs;
      assert.deepEqual(
        jobs.map((j) => [j.type, j.data, j.runAt]),
        [1, 2, 3, 4, 5].map((n) => ["tick", 7, start + n * 1_000]),
        "each job is due at its occurrence",
      );
      assert.equal((await first.schedules())[0]!.nextRunAt, start + 6_000);
    },
  },
  {
    name:
      "workers on three queue handles run each occurrence once, within about their poll interval",
    timeout: 60_000,
    async run(ctx) {
      const clock = ctx.fakeClock();
      const first = ctx.queue({ clock: clock.clock });
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const q = i === 0
          ? first
          : ctx.queue({ clock: clock.clock, name: first.name });
        const worker = createWorker(q, {
          tick: (job) => void runs.push(job.runAt),
        }, { pollInterval: 5, concurrency: 2 });
        ctx.defer(() => worker.stop());
      }
      const start = clock.now;
      await first.schedule("tick", { every: 60_000, type: "tick" });
      for (let n = 1; n <= 6; n++) {
        clock.advance(60_000);
        // Each job is stored complete before the clock moves on: a jump past
        // the lease of a job still running would run it again (at least
        // once), which is not what this case is about.
        await waitFor(
          `occurrence ${n} to run and complete`,
          async () => (await first.stats()).complete === n,
        );
      }
      const jobs = (await first.list({ limit: 100 })).jobs;
      assert.deepEqual(
        jobs.map((j) => j.runAt).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6].map((n) => start + n * 60_000),
        "one job per occurrence",
      );
      assert.deepEqual(
        runs.sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6].map((n) => start + n * 60_000),
        "each run once",
      );
    },
  },
  {
    name:
      "missed occurrences collapse into one late job, and the schedule goes on from the present",
    async run(ctx) {
      const clock = ctx.fakeClock();
      clock.advance(at("2026-01-05T08:00:00.000Z") - clock.now);
      const queue = ctx.queue({ clock: clock.clock });
      const start = clock.now;
      await queue.schedule("every", { every: 1_000, type: "e" });
      await queue.schedule("hourly", { cron: "0 * * * *", type: "h" });
      clock.advance(5 * 3_600_000 + 500); // 5 h and a half second later
      assert.equal(await queue.runSchedules(), 2);
      assert.equal(await queue.runSchedules(), 0);
      const jobs = (await queue.list()).jobs;
      assert.deepEqual(
        jobs.map((j) => [j.type, j.runAt]).sort(),
        [["e", start + 1_000], ["h", at("2026-01-05T09:00:00.000Z")]],
      );
      const next = Object.fromEntries(
        (await queue.schedules()).map((s) => [s.name, s.nextRunAt]),
      );
      assert.deepEqual(next, {
        every: start + 5 * 3_600_000 + 1_000,
        hourly: at("2026-01-05T14:00:00.000Z"),
      });
    },
  },
  {
    name:
      "schedule() replaces by name, keeps the next occurrence of an unchanged schedule, and unschedule() stops its jobs",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const start = clock.now;
      await queue.schedule("s", { every: 1_000, type: "a" });
      clock.advance(500);
      const same = await queue.schedule("s", { every: 1_000, type: "a" });
      assert.equal(same.nextRunAt, start + 1_000, "declared again: unchanged");
      const changed = await queue.schedule("s", {
        every: 2_000,
        type: "b",
        data: { v: 2 },
      });
      assert.equal(changed.nextRunAt, clock.now + 2_000);
      clock.advance(1_000);
      assert.equal(await queue.runSchedules(), 0, "the old cadence is gone");
      clock.advance(1_000);
      assert.equal(await queue.runSchedules(), 1);
      const [job] = (await queue.list()).jobs;
      assert.deepEqual([job!.type, job!.data], ["b", { v: 2 }]);
      assert.equal(await queue.unschedule("s"), true);
      clock.advance(10_000);
      assert.equal(await queue.runSchedules(), 0);
      assert.equal((await queue.list()).jobs.length, 1);
    },
  },
  {
    name:
      "cron in Europe/Paris keeps local time across both daylight-saving changes of a year",
    async run(ctx) {
      const runsOf = async (cron: string, from: string, n: number) => {
        const clock = ctx.fakeClock();
        clock.advance(at(from) - clock.now);
        const queue = ctx.queue({ clock: clock.clock });
        const name = "paris";
        let s = await queue.schedule(name, {
          cron,
          tz: "Europe/Paris",
          type: name,
        });
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          out.push(new Date(s.nextRunAt).toISOString());
          clock.advance(s.nextRunAt - clock.now);
          assert.equal(await queue.runSchedules(), 1);
          s = (await queue.schedules())[0]!;
        }
        return out;
      };
      // Spring: 29 March 2026, 02:00 CET becomes 03:00 CEST.
      assert.deepEqual(await runsOf("0 3 * * *", "2026-03-27T12:00:00Z", 3), [
        "2026-03-28T02:00:00.000Z",
        "2026-03-29T01:00:00.000Z",
        "2026-03-30T01:00:00.000Z",
      ]);
      // A time in the gap runs once, at the end of the gap.
      assert.deepEqual(await runsOf("30 2 * * *", "2026-03-28T12:00:00Z", 2), [
        "2026-03-29T01:00:00.000Z",
        "2026-03-30T00:30:00.000Z",
      ]);
      // Autumn: 25 October 2026, 03:00 CEST becomes 02:00 CET.
      assert.deepEqual(await runsOf("0 3 * * *", "2026-10-23T12:00:00Z", 3), [
        "2026-10-24T01:00:00.000Z",
        "2026-10-25T02:00:00.000Z",
        "2026-10-26T02:00:00.000Z",
      ]);
      // A time that happens twice runs once.
      assert.deepEqual(await runsOf("30 2 * * *", "2026-10-24T12:00:00Z", 2), [
        "2026-10-25T00:30:00.000Z",
        "2026-10-26T01:30:00.000Z",
      ]);
    },
  },
  {
    name:
      "schedule() refuses bad names, cron expressions, time zones, intervals and job options",
    async run(ctx) {
      const queue = ctx.queue();
      const bad: [unknown, unknown][] = [
        ["", { every: 1_000, type: "t" }],
        ["x y", { every: 1_000, type: "t" }],
        ["s", { type: "t" }],
        ["s", { every: 1_000, cron: "* * * * *", type: "t" }],
        ["s", { every: 0, type: "t" }],
        ["s", { every: 1.5, type: "t" }],
        ["s", { every: -1, type: "t" }],
        ["s", { cron: "61 * * * *", type: "t" }],
        ["s", { cron: "* * *", type: "t" }],
        ["s", { cron: "0 0 1 1 * 2030", type: "t" }],
        ["s", { cron: "@reboot", type: "t" }],
        ["s", { cron: 5, type: "t" }],
        ["s", { cron: "* * * * *", tz: "Mars/Olympus_Mons", type: "t" }],
        ["s", { every: 1_000, tz: "UTC", type: "t" }],
        ["s", { every: 1_000, type: "bad type" }],
        ["s", { every: 1_000, type: "t", options: { delay: 5 } }],
        ["s", { every: 1_000, type: "t", options: { priority: 0 } }],
        ["s", { every: 1_000, type: "t", data: () => 1 }],
        ["s", { every: 1_000, type: "t", when: "now" }],
        ["s", null],
      ];
      for (const [name, spec] of bad) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          () => queue.schedule(name as any, spec as any),
          ValidationError,
          JSON.stringify([name, spec]),
        );
      }
      assert.deepEqual(await queue.schedules(), [], "nothing stored");
    },
  },
  {
    name:
      "fireSchedule() is a compare-and-set on the version, and enqueues as enqueue() does",
    async run(ctx) {
      const { backend } = ctx;
      const q = uniqueName();
      const now = Date.now();
      const put = await backend.putSchedule(q, {
        name: "s",
        definition: "{}",
        nextRunAt: now,
      }, { now });
      assert.deepEqual(put, {
        name: "s",
        definition: "{}",
        nextRunAt: now,
        version: 1,
      });
      assert.deepEqual(
        await backend.putSchedule(q, {
          name: "s",
          definition: "{}",
          nextRunAt: now + 5,
        }, { now }),
        put,
        "the same definition: left as it is",
      );
      const heard = new Set<number>();
      const stop = await backend.listen(q, "worker", (e) => {
        if (e.kind === "wake") heard.add(e.at);
      });
      ctx.defer(stop);
      const [held] = await backend.enqueue(q, [newJob("a", "k", now)], { now });
      const fire = { name: "s", version: 1, nextRunAt: now + 1_000 };
      assert.deepEqual(
        await backend.fireSchedule(q, {
          ...fire,
          job: newJob("b", "k", now + 1), // stores nothing: wakes no one
        }, { now }),
        { id: held!.id, created: false },
        "the key is held: no job",
      );
      assert.equal(
        await backend.fireSchedule(q, {
          ...fire,
          job: newJob("c", null, now + 2), // stores nothing: wakes no one
        }, { now }),
        null,
        "version 1 was fired already",
      );
      const late = now - 500; // an occurrence in the past: due at once
      assert.deepEqual(
        await backend.fireSchedule(q, {
          name: "s",
          version: 2,
          nextRunAt: now + 2_000,
          job: newJob("d", null, late),
        }, { now }),
        { id: "d", created: true },
      );
      assert.deepEqual(await backend.listSchedules(q, { dueBy: null, now }), [
        { name: "s", definition: "{}", nextRunAt: now + 2_000, version: 3 },
      ]);
      assert.equal(
        (await backend.get(q, "d", { now }))?.runAt,
        late,
        "stored as enqueue stores it",
      );
      const claimed = await backend.claim(q, {
        types: null,
        limit: 10,
        leaseMs: 1_000,
        now,
      });
      assert.deepEqual(claimed.map((j) => j.id), ["a", "d"]);
      if (backend.capabilities.wakeups) {
        // the enqueue's wake-up and the fire's, none for the fires that
        // stored nothing (the Redis backends also wake their own workers as
        // they send an enqueue, so a time may be heard twice)
        await waitFor("both wake-ups", () => heard.size >= 2);
        await sleep(50); // time for a wake-up that should not come
        assert.deepEqual([...heard], [now, late]);
      }
      assert.equal(await backend.removeSchedule(q, "s", { now }), true);
      assert.equal(await backend.removeSchedule(q, "s", { now }), false);
      assert.equal(
        await backend.fireSchedule(q, {
          name: "s",
          version: 3,
          nextRunAt: now,
          job: newJob("e", null, now),
        }, { now }),
        null,
        "a removed schedule fires no more",
      );
    },
  },
];
