/**
 * §12 Flows, part one: the atomic store and its validation, waiting jobs
 * never claimed, release in the step that completes the last parent (with
 * the child's own delay counted from then), getFlow, the statuses in
 * stats and list, and a diamond run by a real worker with `ctx.parents()`.
 * Part two (_flows_failure.ts): failure policies, cancel, retry, cancelFlow,
 * retention and lease expiry.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { FlowNode } from "../../src/flow_types.ts";
import type { Queue } from "../../src/queue_types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";

/** The image example of SPEC §12: fetch, two sizes at once, one email. */
export const IMAGE_FLOW: FlowNode[] = [
  { ref: "fetch", type: "fetch", data: { url: "https://example.com/a.png" } },
  { ref: "large", type: "resize", data: { size: 1024 }, dependsOn: ["fetch"] },
  { ref: "thumb", type: "resize", data: { size: 64 }, dependsOn: ["fetch"] },
  {
    ref: "notify",
    type: "email",
    data: { to: "ada@example.com" },
    dependsOn: ["large", "thumb"],
    options: { priority: "high" },
  },
];

/** Claims the one job of a given id, completing nothing else. */
export async function claimOnly(queue: Queue, id: string) {
  const job = await queue.claim();
  assert.equal(job?.id, id, "the expected job is the one claimable");
  return job!;
}

/** The statuses of a flow's jobs by ref, read in one step. */
export async function statuses(
  queue: Queue,
  flowId: string,
): Promise<Record<string, string>> {
  const flow = await queue.getFlow(flowId);
  return Object.fromEntries(flow?.jobs.map((j) => [j.ref, j.status]) ?? []);
}

/** The first part of the flow cases. */
export const flowCases: Case[] = [
  {
    name:
      "enqueueFlow() stores every job, roots pending and the rest waiting, counted by stats and found by list",
    async run(ctx) {
      const queue = ctx.queue();
      const flow = await queue.enqueueFlow(IMAGE_FLOW);
      assert.deepEqual(Object.keys(flow.jobs), [
        "fetch",
        "large",
        "thumb",
        "notify",
      ]);
      const state = await queue.getFlow(flow.id);
      assert.deepEqual(state, {
        id: flow.id,
        jobs: [
          {
            ref: "fetch",
            id: flow.jobs.fetch,
            status: "pending",
            dependsOn: [],
          },
          {
            ref: "large",
            id: flow.jobs.large,
            status: "waiting",
            dependsOn: ["fetch"],
          },
          {
            ref: "thumb",
            id: flow.jobs.thumb,
            status: "waiting",
            dependsOn: ["fetch"],
          },
          {
            ref: "notify",
            id: flow.jobs.notify,
            status: "waiting",
            dependsOn: ["large", "thumb"],
          },
        ],
      });
      const stats = await queue.stats();
      assert.equal(stats.waiting, 3);
      assert.equal(stats.pending, 1);
      assert.equal(stats.byType.resize?.waiting, 2);
      const waiting = await queue.list({ status: "waiting" });
      assert.deepEqual(
        waiting.jobs.map((j) => j.id),
        [flow.jobs.large, flow.jobs.thumb, flow.jobs.notify].sort(),
      );
      const notify = await queue.get(flow.jobs.notify!);
      assert.equal(notify?.priority, 10);
      assert.deepEqual(notify?.flow, {
        id: flow.id,
        ref: "notify",
        dependsOn: ["large", "thumb"],
        onParentFailure: "cancel",
      });
      assert.equal(await queue.getFlow("no-such-flow"), null);
    },
  },
  {
    name:
      "enqueueFlow() rejects an empty list, a repeated or unknown ref, a cycle, a key or ttl, bad input and more than 10,000 jobs, storing nothing",
    timeout: 60_000,
    async run(ctx) {
      const queue = ctx.queue();
      const n = (ref: string, dependsOn?: string[]): FlowNode =>
        dependsOn === undefined
          ? { ref, type: "t", data: null }
          : { ref, type: "t", data: null, dependsOn };
      const bad: [string, unknown][] = [
        ["empty", []],
        ["not an array", "x"],
        ["repeated ref", [n("a"), n("a")]],
        ["unknown parent", [n("a"), n("b", ["zz"])]],
        ["self", [n("a", ["a"])]],
        ["cycle", [n("a", ["c"]), n("b", ["a"]), n("c", ["b"]), n("d")]],
        ["bad ref", [{ ref: "a b", type: "t", data: null }]],
        ["bad type", [n("a"), { ref: "b", type: "", data: null }]],
        ["bad data", [n("a"), { ref: "b", type: "t", data: () => 1 }]],
        ["key", [n("a"), { ...n("b", ["a"]), options: { key: "k" } }]],
        ["ttl", [n("a"), { ...n("b", ["a"]), options: { ttl: 60 } }]],
        ["policy", [n("a"), { ...n("b", ["a"]), onParentFailure: "skip" }]],
        ["too many", Array.from({ length: 10_001 }, (_, i) => n(`j${i}`))],
      ];
      for (const [what, nodes] of bad) {
        await assert.rejects(
          () => queue.enqueueFlow(nodes as FlowNode[]),
          ValidationError,
          what,
        );
      }
      const stats = await queue.stats();
      assert.equal(
        stats.waiting + stats.pending,
        0,
        "a rejected flow stores nothing",
      );
    },
  },
  {
    name:
      "a waiting job is never claimed; the last parent's completion makes it pending in the same step, its delay counted from then",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const flow = await queue.enqueueFlow([
        { ref: "a", type: "t", data: 1 },
        { ref: "b", type: "t", data: 2 },
        {
          ref: "c",
          type: "t",
          data: 3,
          dependsOn: ["a", "b"],
          options: { delay: 5_000 },
        },
      ]);
      const updates: string[] = [];
      const stop = await queue.listen({ job: flow.jobs.c! }, (e) => {
        if (e.kind === "update") updates.push(e.update.status);
      });
      ctx.defer(stop);
      const a = await queue.claim({ leaseMs: 600_000 });
      const b = await queue.claim({ leaseMs: 600_000 });
      assert.deepEqual([a?.id, b?.id], [flow.jobs.a, flow.jobs.b]);
      assert.equal(await queue.claim(), null, "c waits");
      await queue.complete(a!, "A");
      assert.equal((await queue.get(flow.jobs.c!))?.status, "waiting");
      clock.advance(60_000);
      assert.equal(await queue.claim(), null, "c still waits for b");
      await queue.complete(b!, "B");
      const c = await queue.get(flow.jobs.c!);
      assert.equal(c?.status, "pending");
      assert.equal(c?.runAt, clock.now + 5_000, "its delay counts from now");
      assert.equal(await queue.claim(), null, "not due yet");
      clock.advance(5_000);
      assert.equal((await queue.claim())?.id, flow.jobs.c);
      await waitFor("c's pending update", () => updates.includes("pending"));
    },
  },
  {
    name:
      "a worker runs a diamond with every start after its parents' ends, and ctx.parents() gives their results by ref",
    async run(ctx) {
      const queue = ctx.queue();
      const spans = new Map<string, { start: number; end: number }>();
      const seen: Record<string, unknown> = {};
      let tick = 0;
      const handler = async (
        job: { data: unknown; flow?: { ref: string } },
        jc: { parents(): Promise<Record<string, unknown>> },
      ) => {
        const ref = job.flow!.ref;
        const start = ++tick;
        seen[ref] = await jc.parents();
        await new Promise((r) => setTimeout(r, 5));
        spans.set(ref, { start, end: ++tick });
        return { from: ref, size: (job.data as { size?: number }).size ?? 0 };
      };
      const worker = createWorker(queue, {
        fetch: handler,
        resize: handler,
        email: handler,
      }, { concurrency: 4, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const flow = await queue.enqueueFlow(IMAGE_FLOW);
      await waitFor("the flow to complete", async () => {
        const s = await statuses(queue, flow.id);
        return Object.values(s).every((x) => x === "complete");
      });
      for (const node of IMAGE_FLOW) {
        for (const parent of node.dependsOn ?? []) {
          assert.ok(
            spans.get(node.ref)!.start > spans.get(parent)!.end,
            `${node.ref} started after ${parent} ended`,
          );
        }
      }
      assert.deepEqual(seen.fetch, {});
      assert.deepEqual(seen.large, { fetch: { from: "fetch", size: 0 } });
      assert.deepEqual(seen.notify, {
        large: { from: "large", size: 1024 },
        thumb: { from: "thumb", size: 64 },
      });
    },
  },
];
