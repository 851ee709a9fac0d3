/**
 * Limits and groups across processes, on every persistent backend (a
 * SQLite file, Redis, PostgreSQL): three worker processes work 120 jobs in
 * 12 groups under `groups: { concurrency: 1 }`; from the shared log of
 * their start and end times, no two jobs of one group ever overlap, and
 * every job completes. Workers are real child processes of the runtime
 * running the test (tests/fixtures/step_worker.ts).
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

    test("three workers under groups: { concurrency: 1 } never overlap two jobs of one group, and every job completes", async () => {
      const name = `groups_${crypto.randomUUID().slice(0, 8)}`;
      const q = createQueue(store.url(), { name });
      queues.push(q);
      await q.setLimits({ groups: { concurrency: 1 } });
      const ids = await q.enqueueMany(
        Array.from({ length: 120 }, (_, i) => ({
          type: "step",
          data: i,
          options: { group: `g${i % 12}` },
        })),
      );
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
      await waitFor(
        "every job complete",
        async () => (await q.stats()).complete === ids.length,
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
