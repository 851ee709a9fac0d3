// The npm package as a user meets it: plain JavaScript in a fresh project
// that installed the packed tarball. Loads every entry, then runs jobs
// through createQueue, createWorker and subscribe on each backend URL given
// (argv), and prints "ok <scheme> <ms>" for each; a cron schedule loads the
// croner dependency. Exits non-zero on any
// failure. Runs unchanged on Node 22, Node 24 and Bun.
import process from "node:process";
import { createQueue, createWorker, subscribe, ValidationError } from "jobline";

const runtime = process.versions.bun
  ? `bun ${process.versions.bun}`
  : `node ${process.version}`;

const entries = {
  "jobline/sqlite": "sqliteBackend",
  "jobline/redis": "redisBackend",
  "jobline/postgres": "postgresBackend",
  "jobline/backend": "createListeners",
  "jobline/testing": "testBackend",
};
for (const [entry, name] of Object.entries(entries)) {
  const mod = await import(entry);
  if (typeof mod[name] !== "function") {
    throw new Error(`${entry} lacks ${name}`);
  }
}
try {
  createQueue("nope://x");
  throw new Error("createQueue accepted nope://");
} catch (err) {
  if (!(err instanceof ValidationError)) throw err;
}

async function roundTrip(url) {
  const started = Date.now();
  const queue = createQueue(url, { name: `smoke-${process.pid}` });
  const worker = createWorker(queue, {
    resize: async (job, ctx) => {
      await ctx.progress(0.5, "half way");
      return { width: job.data.width };
    },
  }, { concurrency: 2 });
  try {
    const ids = await queue.enqueueMany(
      [320, 640, 1280].map((width) => ({ type: "resize", data: { width } })),
    );
    for (const [i, id] of ids.entries()) {
      let last;
      for await (const update of subscribe(queue, id)) last = update;
      const want = [320, 640, 1280][i];
      if (last?.status !== "complete" || last.result?.width !== want) {
        throw new Error(`${url}: job ${id} ended ${JSON.stringify(last)}`);
      }
    }
  } finally {
    await worker.stop();
    await queue.close();
  }
  console.log(`ok ${url.slice(0, url.indexOf(":"))} ${Date.now() - started}ms`);
}

// A cron schedule loads croner, the package's one dependency.
{
  const queue = createQueue();
  const s = await queue.schedule("nightly", {
    cron: "0 3 * * *",
    tz: "Europe/Paris",
    type: "report",
  });
  if (!(s.nextRunAt > Date.now())) {
    throw new Error(`cron schedule: ${JSON.stringify(s)}`);
  }
  await queue.close();
  console.log("ok cron schedule");
}

for (const url of process.argv.slice(2)) await roundTrip(url);
console.log(`smoke passed on ${runtime}`);
