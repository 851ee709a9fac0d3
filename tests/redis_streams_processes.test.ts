/**
 * The Redis Streams backend across processes: a worker process SIGKILLed
 * mid-job leaves its jobs in the consumer group's pending list, and another
 * worker process gets them delivered again once their leases run out, each
 * attempt counted. Workers are real child processes of the runtime running
 * the test (tests/fixtures/url_worker.ts) on a `redis+streams://` URL; the
 * server is started for this file on a free loopback port.
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { type RedisServer, startRedis } from "./_support/redis_server.ts";
import { type Started, startFile } from "./_support/run_file.ts";
import { waitFor } from "./_support/time.ts";

const fixture = fileURLToPath(
  new URL("./fixtures/url_worker.ts", import.meta.url),
);
const root = fileURLToPath(new URL("..", import.meta.url));
const patiently = { timeout: 30_000, interval: 20 };

describe("redis streams across processes", () => {
  let server: RedisServer | undefined;
  const workers: Started[] = [];
  const queues: Queue[] = [];
  const url = (): string => server!.url.replace("redis://", "redis+streams://");
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exit));
    await Promise.all(queues.map((q) => q.close()));
    await server?.destroy();
  });

  const worker = async (name: string, hangAfter?: number): Promise<Started> => {
    const args = [url(), name, "1000"];
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

  test("a SIGKILLed worker's jobs are delivered again to another process after their lease", async () => {
    const name = `kill_${crypto.randomUUID().slice(0, 8)}`;
    const queue = createQueue(url(), { name });
    queues.push(queue);
    const victim = await worker(name, 0);
    const ids = await queue.enqueueMany(
      [1, 2, 3].map((i) => ({ type: "work", data: i })),
    );
    await waitFor(
      "the victim to start all three",
      () => said(victim, "start").length === 3,
      patiently,
    );
    const rescuer = await worker(name);
    victim.child.kill("SIGKILL");
    await victim.exit;
    const killedAt = Date.now();
    await waitFor(
      "the rescuer to finish all three",
      () => ids.every((id) => said(rescuer, "done").includes(id)),
      patiently,
    );
    assert.ok(Date.now() - killedAt < 20_000);
    const jobs = await Promise.all(ids.map((id) => queue.get(id)));
    assert.deepEqual(jobs.map((j) => [j?.status, j?.attempt]), [
      ["complete", 2],
      ["complete", 2],
      ["complete", 2],
    ]);
    assert.deepEqual(said(victim, "done"), [], "the victim finished none");
    const stats = await queue.stats();
    assert.deepEqual([stats.pending, stats.processing], [0, 0]);
  });
});
