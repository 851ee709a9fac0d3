/**
 * Flow control across processes, on every persistent backend (a SQLite
 * file, Redis, PostgreSQL): a pause made in one process stops the worker of
 * another, and its resume wakes it; a worker SIGKILLed while its queue is
 * paused, or while retention removes jobs, leaves every unfinished job
 * claimable; a schedule fired by three worker processes makes exactly one
 * job per occurrence. Workers are real child processes of the runtime running the
 * test (tests/fixtures/url_worker.ts).
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createQueue } from "../src/queue.ts";
import type { Queue, QueueOptions } from "../src/queue_types.ts";
import { type Started, startFile } from "./_support/run_file.ts";
import { sleep, waitFor } from "./_support/time.ts";
import { urlStores } from "./_support/url_stores.ts";

const fixture = fileURLToPath(
  new URL("./fixtures/url_worker.ts", import.meta.url),
);
const root = fileURLToPath(new URL("..", import.meta.url));
const patiently = { timeout: 20_000, interval: 20 };

/** How long a worker that polls every 200 ms surely took to claim. */
const QUIET_MS = 1_000;

for (const store of urlStores()) {
  describe(`flow control across processes: ${store.name}`, () => {
    const workers: Started[] = [];
    const queues: Queue[] = [];
    before(() => store.start());
    after(async () => {
      for (const w of workers) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exit));
      await Promise.all(queues.map((q) => q.close()));
      await store.stop();
    });

    const queue = (options: QueueOptions = {}): Queue => {
      const name = `flow_${crypto.randomUUID().slice(0, 8)}`;
      const q = createQueue(store.url(), { name, ...options });
      queues.push(q);
      return q;
    };
    const worker = async (q: Queue, hangAfter?: number): Promise<Started> => {
      const args = [store.url(), q.name, "1000"];
      if (hangAfter !== undefined) args.push(String(hangAfter));
      const w = startFile(fixture, { cwd: root, args });
      workers.push(w);
      await waitFor(
        "the worker to be ready",
        () => w.lines().includes("ready"),
        patiently,
      );
      return w;
    };
    const said = (w: Started, kind: "start" | "done"): string[] =>
      w.lines().filter((l) => l.startsWith(kind + " ")).map((l) =>
        l.slice(kind.length + 1)
      );

    test("a pause in one process stops another process's worker, and resume wakes it", async () => {
      const q = queue();
      const w = await worker(q);
      await q.enqueueMany([1, 2, 3].map((i) => ({ type: "work", data: i })));
      await waitFor(
        "three jobs done",
        () => said(w, "done").length === 3,
        patiently,
      );
      assert.equal(await q.pause(), true);
      const held = await q.enqueueMany(
        [4, 5].map((i) => ({ type: "work", data: i })),
      );
      await sleep(QUIET_MS);
      assert.equal(said(w, "start").length, 3, "nothing claimed while paused");
      await q.pause("work");
      await q.resume();
      await sleep(QUIET_MS);
      assert.equal(said(w, "start").length, 3, "the type is still paused");
      assert.equal(await q.isPaused("work"), true);
      await q.resume("work");
      await waitFor(
        "the held jobs done",
        () => held.every((id) => said(w, "done").includes(id)),
        patiently,
      );
      assert.equal((await q.stats()).complete, 5);
    });

    test("a worker SIGKILLed while its queue is paused leaves its jobs claimable after resume", async () => {
      const q = queue();
      const victim = await worker(q, 0);
      const ids = await q.enqueueMany(
        [1, 2].map((i) => ({ type: "work", data: i })),
      );
      await waitFor(
        "both jobs started",
        () => said(victim, "start").length === 2,
        patiently,
      );
      await q.pause();
      victim.child.kill("SIGKILL");
      await victim.exit;
      ids.push(await q.enqueue("work", 3));
      await sleep(1_200); // the victim's leases run out
      const rescuer = await worker(q);
      await sleep(QUIET_MS);
      assert.equal(said(rescuer, "start").length, 0, "still paused");
      await q.resume();
      await waitFor(
        "every job done",
        () => ids.every((id) => said(rescuer, "done").includes(id)),
        patiently,
      );
      const attempts = await Promise.all(
        ids.map(async (id) => (await q.get(id))?.attempt),
      );
      assert.deepEqual(attempts, [2, 2, 1]);
    });

    test("a worker SIGKILLed while retention removes jobs loses none, and count holds after", async () => {
      const q = queue({ removeOnComplete: { count: 5 } });
      const ids = await q.enqueueMany(
        Array.from({ length: 120 }, (_, i) => ({ type: "work", data: i })),
      );
      const victim = await worker(q, 40);
      // Its first 40 jobs done and said (a completion is stored before its
      // line is printed), then it hangs mid-job on the next ones.
      await waitFor(
        "the victim mid-job",
        () =>
          said(victim, "done").length >= 40 &&
          said(victim, "start").length >= 45,
        patiently,
      );
      victim.child.kill("SIGKILL");
      await victim.exit;
      const rescuer = await worker(q);
      const done = (): Set<string> =>
        new Set([...said(victim, "done"), ...said(rescuer, "done")]);
      await waitFor(
        "every job done",
        () => ids.every((id) => done().has(id)),
        patiently,
      );
      const s = await q.stats();
      assert.deepEqual([s.pending, s.processing, s.failed], [0, 0, 0]);
      assert.equal(s.complete, 5, "only the newest five are kept");
      assert.equal(await q.get(ids[0]!), null);
    });

    test("three worker processes run each occurrence of an every: 200 schedule exactly once", async () => {
      const q = queue();
      const ws = await Promise.all([worker(q), worker(q), worker(q)]);
      const s = await q.schedule("tick", { every: 200, type: "work" });
      await sleep(3_000);
      await q.unschedule("tick");
      const made = (await q.list({ limit: 1_000 })).jobs;
      await waitFor("every job done", () => {
        const all = ws.flatMap((w) => said(w, "done"));
        return made.every((j) => all.includes(j.id));
      }, patiently);
      const runs = ws.flatMap((w) => said(w, "start"));
      assert.equal(new Set(runs).size, runs.length, "no job ran twice");
      const times = made.map((j) => j.runAt).sort((a, b) => a - b);
      assert.equal(new Set(times).size, times.length, "one job per occurrence");
      for (const t of times) {
        assert.equal((t - s.nextRunAt) % 200, 0, "on the schedule's cadence");
      }
      assert.ok(times.length >= 10, `${times.length} occurrences in 3 s`);
    });
  });
}
