/**
 * Limits and groups on the Redis backend (SPEC §7.3, §7.4), what the
 * conformance suite cannot see: the commands and keys a claim touches (the
 * plain path reads one key more, a claim among 10,000 groups sends what it
 * sends among 10, parked groups are never read), the counts of running jobs
 * after every way out of "processing", limits across a restart, every key
 * in the queue's hash slot, a worker waiting on a full limit woken when
 * the running job's time to live runs out (and not by jobs that do not
 * run: tests/_support/ttl_wakeups.ts, which memory runs too), and the
 * claim cost with 1,000 and 100,000 pending jobs in 10,000
 * groups (printed, not asserted). Each test starts its own redis-server on
 * a free loopback port.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, type Queue } from "../mod.ts";
import { ttlWakeupTests } from "./_support/ttl_wakeups.ts";
import { type RedisServer, startRedis } from "./_support/redis_server.ts";
import { sleep, waitFor } from "./_support/time.ts";

const servers: RedisServer[] = [];
const monitors: ChildProcess[] = [];
async function server(config?: Record<string, string>): Promise<RedisServer> {
  const s = await startRedis(config);
  servers.push(s);
  return s;
}
after(async () => {
  for (const m of monitors) if (m.exitCode === null) m.kill("SIGKILL");
  for (const s of servers) await s.destroy();
});

/** A queue on `url` with a clock the test moves. */
function open(url: string, name: string) {
  const time = { now: 1_000_000 };
  const backend = redisBackend({ url });
  const queue = createQueue({ backend, name, clock: () => time.now });
  const close = async () => {
    await queue.close();
    await backend.close();
  };
  return { backend, queue, time, close };
}

/** Runs `fn` under MONITOR; the commands scripts sent meanwhile. */
async function monitored(port: number, fn: () => Promise<unknown>) {
  const child = spawn("redis-cli", ["-p", String(port), "monitor"]);
  monitors.push(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await waitFor("MONITOR to start", () => out.startsWith("OK"));
  await fn();
  await sleep(100);
  child.kill("SIGTERM");
  return out.split("\n").filter((l) => l.includes(" lua] ")).map((l) =>
    l.slice(l.indexOf(" lua] ") + 6)
  );
}

/** The raw hash at `key`. */
async function hash(url: string, key: string): Promise<Record<string, string>> {
  const client = createClient({ url });
  await client.connect();
  try {
    return { ...await client.hGetAll(key) };
  } finally {
    await client.close();
  }
}

/** Every key of the server. */
async function keys(url: string): Promise<string[]> {
  const client = createClient({ url });
  await client.connect();
  try {
    return await client.keys("*");
  } finally {
    await client.close();
  }
}

function groupJobs(n: number, groups: number, type = "t") {
  return Array.from({ length: n }, (_, i) => ({
    type,
    data: i,
    options: { group: `g${i % groups}` },
  }));
}

async function fill(queue: Queue, jobs: ReturnType<typeof groupJobs>) {
  for (let i = 0; i < jobs.length; i += 5_000) {
    await queue.enqueueMany(jobs.slice(i, i + 5_000));
  }
}

describe("redis limits and groups", () => {
  test("with no limits and no job with a group, a claim reads one key more than before and no lane or limit key", async () => {
    const s = await server();
    const { queue, close } = open(s.url, "plain");
    try {
      await queue.enqueueMany([1, 2, 3].map((i) => ({ type: "t", data: i })));
      const sent = await monitored(s.port, () => queue.claimMany(2));
      const ns = '"jobline:{plain}:';
      assert.ok(
        sent.includes(`"EXISTS" ${ns}lim" ${ns}gd"`),
        sent.join("\n"),
      );
      const others = sent.filter((c) => !c.startsWith('"EXISTS" '));
      for (const key of ["gl:", "ln:", "lp:", "lim", "run", "rl:", "turn"]) {
        assert.ok(!others.some((c) => c.includes(`}:${key}`)), key);
      }
    } finally {
      await close();
    }
  });

  test("a claim among 10,000 groups sends as many commands as among 10, and never reads a parked group", async () => {
    const s = await server();
    const count = async (name: string, groups: number) => {
      const { queue, close } = open(s.url, name);
      try {
        await fill(queue, groupJobs(groups * 10, groups));
        await queue.claimMany(10);
        const sent = await monitored(s.port, () => queue.claimMany(10));
        return sent.length;
      } finally {
        await close();
      }
    };
    const few = await count("few", 10);
    const many = await count("many", 10_000);
    assert.ok(many <= few + 4, `${many} commands vs ${few}`);

    const { queue, close } = open(s.url, "parked");
    try {
      await queue.setLimits({ groups: { concurrency: 1 } });
      await fill(queue, groupJobs(20_000, 2_000));
      assert.equal((await queue.claimMany(2_000)).length, 2_000);
      await queue.enqueue("t", "free", { group: "free" });
      const sent = await monitored(s.port, async () => {
        const jobs = await queue.claimMany(10);
        assert.deepEqual(jobs.map((j) => j.data), ["free"]);
      });
      assert.ok(sent.length < 60, `${sent.length} commands`);
      assert.ok(!sent.some((c) => c.includes(":gl:t/g1")), "parked not read");
    } finally {
      await close();
    }
  });

  test("every way out of processing frees its counted slots: the counts follow the processing jobs and end empty", async () => {
    const s = await server();
    const { queue, time, close } = open(s.url, "exits");
    const run = () => hash(s.url, "jobline:{exits}:run");
    try {
      await queue.setLimits({
        concurrency: 100,
        types: { a: { concurrency: 10 } },
        groups: { concurrency: 5 },
      });
      const opts = { group: "g", attempts: 2 };
      const ids = await queue.enqueueMany(
        Array.from({ length: 8 }, (_, i) => ({
          type: i % 2 === 0 ? "a" : "b",
          data: i,
          options: i === 7 ? { ...opts, ttl: 5 } : opts,
        })),
      );
      const jobs = await queue.claimMany(5, { leaseMs: 1_000 });
      assert.equal(jobs.length, 5, "the group's five slots");
      assert.deepEqual(await run(), { "*": "5", ta: "3", gg: "5" });
      await queue.complete(jobs[0]!, null);
      await queue.fail(jobs[1]!, "again");
      await queue.release([jobs[2]!]);
      await queue.cancel(jobs[3]!.id);
      await queue.remove(jobs[4]!.id);
      assert.deepEqual(await run(), {});
      const more = await queue.claimMany(5, { leaseMs: 1_000 });
      assert.ok(more.length >= 3, `${more.length} claimed`);
      await queue.fail(more[0]!, "for good", { retry: false });
      time.now += 1_000;
      const last = await queue.claimMany(5, { leaseMs: 1_000 });
      const counts = await run();
      assert.equal(counts["*"] ?? "0", String(last.length), "leases ran out");
      assert.equal(counts.gg ?? "0", String(last.length));
      time.now += 10_000;
      await queue.stats();
      assert.deepEqual(await run(), {}, "leases and a TTL ran out");
      const ttl = await hash(s.url, `jobline:{exits}:j:${ids[7]}`);
      assert.deepEqual(ttl, {}, "the job whose TTL ran out is gone");
    } finally {
      await close();
    }
  });

  test("setLimits() counts the jobs already processing, and limits and parked groups outlast a restart", async () => {
    const s = await server({ appendonly: "yes", appendfsync: "always" });
    let q = open(s.url, "restart");
    await fill(q.queue, groupJobs(6, 1));
    const running = await q.queue.claimMany(3, { leaseMs: 600_000 });
    await q.queue.setLimits({ groups: { concurrency: 2 } });
    await q.queue.complete(running[0]!, null);
    assert.deepEqual(await q.queue.claimMany(5), [], "two still run");
    await q.close();
    await s.stop();
    await s.start();
    q = open(s.url, "restart");
    try {
      assert.deepEqual(await q.queue.getLimits(), {
        groups: { concurrency: 2 },
      });
      assert.deepEqual(await q.queue.claimMany(5), [], "still parked");
      await q.queue.complete(running[1]!, null);
      assert.equal((await q.queue.claimMany(5)).length, 1);
    } finally {
      await q.close();
    }
  });

  ttlWakeupTests(async () => redisBackend({ url: (await server()).url }));

  test("every key a queue's scripts make is in the queue's hash slot", async () => {
    const s = await server();
    const { queue, time, close } = open(s.url, "slot");
    try {
      await queue.setLimits({
        rate: { max: 100, per: 1_000 },
        types: { t: { concurrency: 50, rate: { max: 50, per: 1_000 } } },
        groups: { concurrency: 1, rate: { max: 1, per: 1_000 } },
      });
      await fill(queue, groupJobs(40, 10));
      await queue.claimMany(5);
      time.now += 2_000;
      await queue.claimMany(5);
      const all = await keys(s.url);
      assert.ok(all.some((k) => k.includes(":rl:g")), all.join(" "));
      for (const key of all) assert.ok(key.startsWith("jobline:{slot}:"), key);
    } finally {
      await close();
    }
  });

  test("claim cost with 1,000 and with 100,000 pending jobs in 10,000 groups (printed)", async () => {
    const s = await server();
    const cost = async (name: string, n: number) => {
      const { queue, close } = open(s.url, name);
      try {
        await fill(queue, groupJobs(n, 10_000));
        await queue.claimMany(10);
        const start = performance.now();
        for (let i = 0; i < 50; i++) await queue.claimMany(10);
        return (performance.now() - start) / 50;
      } finally {
        await close();
      }
    };
    const small = await cost("cost-small", 1_000);
    const large = await cost("cost-large", 100_000);
    console.log(
      `claim of 10: ${small.toFixed(2)} ms with 1,000 pending, ` +
        `${large.toFixed(2)} ms with 100,000 (10,000 groups)`,
    );
  });
});
