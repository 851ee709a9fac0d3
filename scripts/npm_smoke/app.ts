// A plain TypeScript project's view of the npm package: every entry's
// types, used as the README uses them. `tsc --noEmit` must report nothing.
import { createQueue, createWorker, type Queue, subscribe } from "jobline";
import { sqliteBackend } from "jobline/sqlite";
import { redisBackend, type RedisClientLike } from "jobline/redis";
import { postgresBackend, type PostgresTransaction } from "jobline/postgres";
import { countJobs, createListeners } from "jobline/backend";
import type { BackendSuiteOptions } from "jobline/testing";

type Jobs = { resize: { url: string }; email: { to: string } };

await using queue = createQueue<Jobs>();
await using worker = createWorker(queue, {
  resize: async (job, ctx) => {
    await ctx.progress(0.5, `fetching ${job.data.url}`);
    ctx.signal.throwIfAborted();
    return { width: 640 };
  },
  email: (job) => ({ sent: job.data.to }),
}, { concurrency: 10 });
worker.on("failed", (_job, _error, retrying) => console.log(retrying));

const id: string = await queue.enqueue("resize", { url: "a.png" }, {
  priority: "high",
});
// @ts-expect-error: the data of a "resize" job has a string url
await queue.enqueue("resize", { url: 1 });
for await (const update of subscribe(queue, id)) {
  console.log(update.status, update.progress, update.message);
}

const sqlite: Queue = createQueue({
  backend: sqliteBackend({ path: ":memory:" }),
});
const redis = redisBackend({ url: "redis://localhost:6379", prefix: "app" });
const pg = postgresBackend({ url: "postgres://localhost/app" });
const onTx = (tx: PostgresTransaction) => tx`select 1`;
const client: RedisClientLike | undefined = undefined;
const suite: BackendSuiteOptions = { name: "pg", create: () => pg };
console.log(sqlite, redis, onTx, client, suite, countJobs, createListeners);
