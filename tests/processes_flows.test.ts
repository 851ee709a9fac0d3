/**
 * Flows across processes, on every persistent backend (a SQLite file,
 * Redis, PostgreSQL): three worker processes run 20 diamonds while one of
 * them is SIGKILLed mid-run; every job starts only after each of its
 * parents ended, `ctx.parents()` gives every parent, and every flow
 * completes (the killed worker's jobs run again once their leases run
 * out). Workers are real child processes of the runtime running the test
 * (tests/fixtures/step_worker.ts).
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import type { FlowHandle } from "../src/flow_types.ts";
import { type Started, startFile } from "./_support/run_file.ts";
import { waitFor } from "./_support/time.ts";
import { urlStores } from "./_support/url_stores.ts";

const fixture = fileURLToPath(
  new URL("./fixtures/step_worker.ts", import.meta.url),
);
const root = fileURLToPath(new URL("..", import.meta.url));
const patiently = { timeout: 30_000, interval: 25 };

/** A diamond: a, then b and c at once, then d. */
const DIAMOND = [
  { ref: "a", type: "step", data: null },
  { ref: "b", type: "step", data: null, dependsOn: ["a"] },
  { ref: "c", type: "step", data: null, dependsOn: ["a"] },
  { ref: "d", type: "step", data: null, dependsOn: ["b", "c"] },
];

/** What the workers said: each job's starts, ends and parents seen. */
function heard(workers: Started[]) {
  const starts = new Map<string, number[]>();
  const ends = new Map<string, number[]>();
  const parents = new Map<string, string>();
  for (const line of workers.flatMap((w) => w.lines())) {
    const [kind, id, value] = line.split(" ");
    if (kind === "start") {
      (starts.get(id!) ?? starts.set(id!, []).get(id!)!).push(Number(value));
    }
    if (kind === "end") {
      (ends.get(id!) ?? ends.set(id!, []).get(id!)!).push(Number(value));
    }
    if (kind === "parents") parents.set(id!, value ?? "");
  }
  return { starts, ends, parents };
}

for (const store of urlStores()) {
  describe(`flows across processes: ${store.name}`, () => {
    const workers: Started[] = [];
    const queues: Queue[] = [];
    before(() => store.start());
    after(async () => {
      for (const w of workers) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exit));
      await Promise.all(queues.map((q) => q.close()));
      await store.stop();
    });

    const worker = async (name: string): Promise<Started> => {
      const w = startFile(fixture, {
        cwd: root,
        args: [store.url(), name, "1000"],
      });
      workers.push(w);
      await waitFor(
        "a worker ready",
        () => w.lines().includes("ready"),
        patiently,
      );
      return w;
    };

    test("three workers, one SIGKILLed mid-run, run 20 diamonds: every job after its parents, every flow complete", async () => {
      const name = `flows_${crypto.randomUUID().slice(0, 8)}`;
      const q = createQueue(store.url(), { name });
      queues.push(q);
      const [victim, ...others] = await Promise.all(
        [1, 2, 3].map(() => worker(name)),
      );
      const flows: FlowHandle[] = [];
      for (let i = 0; i < 20; i++) flows.push(await q.enqueueFlow(DIAMOND));
      await waitFor(
        "the victim mid-run",
        () => {
          const { starts, ends } = heard([victim!]);
          return starts.size >= 6 &&
            [...starts.keys()].some((id) => !ends.has(id));
        },
        patiently,
      );
      victim!.child.kill("SIGKILL");
      await victim!.exit;
      let stuck = "";
      await waitFor("every flow complete", async () => {
        for (const f of flows) {
          const state = await q.getFlow(f.id);
          if (!state?.jobs.every((j) => j.status === "complete")) {
            stuck = JSON.stringify(state);
            return false;
          }
        }
        return true;
      }, patiently).catch((err) => {
        throw new Error(`${err.message}; a flow: ${stuck}`);
      });
      const { starts, ends, parents } = heard([victim!, ...others]);
      for (const f of flows) {
        for (const node of DIAMOND) {
          const id = f.jobs[node.ref]!;
          for (const parent of node.dependsOn ?? []) {
            const parentEnd = Math.max(...ends.get(f.jobs[parent]!)!);
            for (const start of starts.get(id)!) {
              assert.ok(
                start >= parentEnd,
                `${node.ref} of ${f.id} started before ${parent} ended`,
              );
            }
          }
          assert.equal(
            parents.get(id),
            [...(node.dependsOn ?? [])].sort().join(","),
            `ctx.parents() of ${node.ref}`,
          );
        }
      }
      const stats = await q.stats();
      assert.deepEqual(
        [stats.complete, stats.waiting, stats.pending, stats.processing],
        [80, 0, 0, 0],
      );
    });
  });
}
