/**
 * Limits and groups across processes, on every persistent backend (a
 * SQLite file, Redis, PostgreSQL): three worker processes work 120 jobs in
 * 12 groups under `groups: { concurrency: 1 }`; from the shared log of
 * their start and end times, no two jobs of one group ever overlap, and
 * every job completes; and a worker SIGKILLed while it holds group slots
 * keeps them until its leases run out, then frees them, with no count
 * left behind. Workers are real child processes of the runtime running
 * the test (tests/fixtures/step_worker.ts).
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { type Started, startFile } from "./_support/run_file.ts";
import { waitFor } from "./_support/time.ts";
import { urlStores } from "./_support/url_stores.ts";

const fixture = fileURLToPath(
  new URL("./fixtures/step_worker.ts", import.meta.url),
);
const root = fileURLToPath(new URL("..", import.meta.url));
const patiently = { timeout: 60_000, interval: 25 };

/** The jobs a worker started, with their groups (ended or not). */
function spansOf(w: Started): { id: string; group: string }[] {
  return w.lines().filter((l) => l.startsWith("start ")).map((l) => {
    const [, id, , group] = l.split(" ");
    return { id: id!, group: group! };
  });
}

/** Each job's group, start and end, from the workers' lines. */
function spans(workers: Started[]) {
  const starts = new Map<string, { group: string; at: number }>();
  const out: { id: string; group: string; start: number; end: number }[] = [];
  for (const line of workers.flatMap((w) => w.lines())) {
    const [kind, id, at, group] = line.split(" ");
    if (kind === "start") starts.set(id!, { group: group!, at: Number(at) });
    if (kind === "end") {
      const s = starts.get(id!)!;
      out.push({ id: id!, group: s.group, start: s.at, end: Number(at) });
    }
  }
  return out;
}

for (const store of urlStores()) {
  describe(`limits across processes: ${store.name}`, () => {
    const workers: Started[] = [];
    const queues: Queue[] = [];
    before(() => store.start());
    after(async () => {
      for (const w of workers) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exit));
      await Promise.all(queues.map((q) => q.close()));
      await store.stop();
    });

    const worker = async (
      name: string,
      leaseMs: number,
      jobMs = 15,
    ): Promise<Started> => {
      const w = startFile(fixture, {
        cwd: root,
        args: [store.url(), name, String(leaseMs), String(jobMs)],
      });
      workers.push(w);
      await waitFor(
        "a worker ready",
        () => w.lines().includes("ready"),
        patiently,
      );
      return w;
    };

    test("a worker SIGKILLed holding group slots keeps them until its leases run out, then frees them with no count left", async () => {
      const name = `held_${crypto.randomUUID().slice(0, 8)}`;
      const q = createQueue(store.url(), { name });
      queues.push(q);
      await q.setLimits({ groups: { concurrency: 1 } });
      const groups = ["a", "b", "c", "d", "e", "f"];
      const ids = await q.enqueueMany(
        groups.flatMap((g) =>
          [1, 2].map((i) => ({ type: "step", data: i, options: { group: g } }))
        ),
      );
      const victim = await worker(name, 3_000, 600_000);
      await waitFor(
        "the victim holding four groups",
        () => spansOf(victim).length === 4,
        patiently,
      );
      const held = new Set(spansOf(victim).map((s) => s.group));
      // Each held job's lease as its claim handed it out; heartbeats can
      // only move it later.
      const leaseUntil = new Map(
        victim.lines().filter((l) => l.startsWith("start ")).map((l) => {
          const [, , , group, until] = l.split(" ");
          return [group!, Number(until)];
        }),
      );
      victim.child.kill("SIGKILL");
      await victim.exit;
      const rescuer = await worker(name, 3_000);
      await waitFor(
        "the free groups' jobs",
        () => spans([rescuer]).filter((s) => !held.has(s.group)).length === 4,
        patiently,
      );
      await waitFor(
        "every job complete",
        async () => (await q.stats()).complete === ids.length,
        patiently,
      );
      // A held group's jobs ran only once its dead job's lease had run out
      // (the start line is printed after the claim, so it cannot be early).
      for (const s of spans([rescuer]).filter((s) => held.has(s.group))) {
        assert.ok(
          s.start >= leaseUntil.get(s.group)!,
          `a job of ${s.group} started at ${s.start}, while the dead worker's lease held until ${
            leaseUntil.get(s.group)
          }`,
        );
      }
      rescuer.child.kill("SIGTERM");
      await rescuer.exit;
      // No count left behind: one new job per group, all claimable at once.
      await q.enqueueMany(
        groups.map((g) => ({ type: "step", data: 0, options: { group: g } })),
      );
      const claimed = await q.claimMany(10);
      assert.deepEqual(claimed.map((j) => j.group).sort(), groups);
    });

    test("three workers under groups: { concurrency: 1 } never overlap two jobs of one group, and every job completes", async () => {
      const name = `groups_${crypto.randomUUID().slice(0, 8)}`;
      const q = createQueue(store.url(), { name });
      queues.push(q);
      await q.setLimits({ groups: { concurrency: 1 } });
      const ws = await Promise.all([1, 2, 3].map(async () => {
        const w = startFile(fixture, {
          cwd: root,
          args: [store.url(), name, "10000"],
        });
        workers.push(w);
        await waitFor(
          "a worker ready",
          () => w.lines().includes("ready"),
          patiently,
        );
        return w;
      }));
      // Enqueued once every worker is ready: a worker that started first
      // could otherwise run all 120 (15 ms each, 4 at a time: under half a
      // second) before a slow process had started, and the sharing checked
      // below would fail (seen once in CI, on Redis under Node).
      const ids = await q.enqueueMany(
        Array.from({ length: 120 }, (_, i) => ({
          type: "step",
          data: i,
          options: { group: `g${i % 12}` },
        })),
      );
      await waitFor(
        "every job complete",
        async () => (await q.stats()).complete === ids.length,
        patiently,
      );
      // A job is complete once its worker stored it, which may be before
      // this process has read the worker's last lines.
      await waitFor(
        "every job's end line read",
        () => new Set(spans(ws).map((s) => s.id)).size === ids.length,
        patiently,
      );
      const all = spans(ws);
      assert.equal(new Set(all.map((s) => s.id)).size, ids.length);
      const byGroup = Map.groupBy(all, (s) => s.group);
      assert.equal(byGroup.size, 12);
      for (const [group, list] of byGroup) {
        list.sort((a, b) => a.start - b.start);
        for (let i = 1; i < list.length; i++) {
          assert.ok(
            list[i]!.start >= list[i - 1]!.end,
            `two jobs of ${group} overlapped`,
          );
        }
      }
      const pids = new Set(
        ws.filter((w) => w.lines().some((l) => l.startsWith("end "))),
      );
      assert.ok(pids.size >= 2, "the jobs were shared between processes");
    });
  });
}
