/**
 * Several processes on one SQLite file, each a real child process of the
 * runtime that runs this test (Deno, Node or Bun): workers sharing a queue
 * while one is killed with SIGKILL, a producer killed mid-write, and
 * updates and wake-ups crossing from one process to another.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { createQueue } from "../src/queue.ts";
import { subscribe } from "../src/subscribe.ts";
import { createWorker } from "../src/worker/mod.ts";
import type { JobUpdate } from "../src/types.ts";
import { sleep, waitFor } from "./_support/time.ts";

const script = fileURLToPath(
  new URL("./fixtures/sqlite_child.ts", import.meta.url),
);
const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-proc-"));
const children = new Set<ChildProcess>();

after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all([...children].map(exited));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the fixture in the runtime running this test. */
function start(mode: string, path: string, log: string, queue: string) {
  const args = "Deno" in globalThis
    ? ["run", "-A", script, mode, path, log, queue]
    : [script, mode, path, log, queue];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += String(d)));
  children.add(child);
  child.on("exit", () => children.delete(child));
  return { child, stderr: () => stderr };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function lines(log: string): string[] {
  return existsSync(log)
    ? readFileSync(log, "utf8").split("\n").filter((l) => l !== "")
    : [];
}

/** How long the waits for child processes may take, and how often they look. */
const patiently = { timeout: 30_000, interval: 20 };

/** A run of a job in a worker process: [pid, started at, ended at]. */
type Run = [string, number, number];

/**
 * The runs in the workers' logs, by job id, and the runs still open (by
 * "id pid"): those of a killed worker end at Infinity.
 */
function runsOf(logs: string[]): {
  runs: Map<string, Run[]>;
  open: Map<string, Run>;
} {
  const runs = new Map<string, Run[]>();
  const open = new Map<string, Run>();
  for (const log of logs) {
    for (const line of lines(log)) {
      const [kind, id, pid, at] = line.split(" ");
      if (kind === "READY") continue;
      const key = `${id} ${pid}`;
      if (kind === "S") {
        const run: Run = [pid!, Number(at), Infinity];
        open.set(key, run);
        const list = runs.get(id!) ?? [];
        list.push(run);
        runs.set(id!, list);
      } else {
        open.get(key)![2] = Number(at);
        open.delete(key);
      }
    }
  }
  return { runs, open };
}

describe("sqlite across processes", () => {
  test("three worker processes drain 1,000 jobs while one is SIGKILLed mid-job", async () => {
    const path = join(dir, "workers.db");
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "multi" });
    const ids = new Set<string>();
    for (let i = 0; i < 1_000; i += 250) {
      const batch = await queue.enqueueMany(
        Array.from({ length: 250 }, (_, j) => ({
          type: "job",
          data: { n: i + j },
        })),
      );
      for (const id of batch) ids.add(id);
    }
    const logs = [0, 1, 2].map((i) => join(dir, `worker${i}.log`));
    const workers = logs.map((log) => start("worker", path, log, "multi"));
    try {
      // Kill the first worker while it runs a job, once work is under way.
      const victim = logs[0]!;
      await waitFor("the victim mid-job", () => {
        const own = lines(victim);
        const started = own.filter((l) => l.startsWith("S ")).length;
        const ended = own.filter((l) => /^[EA] /.test(l)).length;
        return started >= 20 && started > ended;
      }, patiently);
      workers[0]!.child.kill("SIGKILL");
      await exited(workers[0]!.child);
      const killedAt = Date.now();
      await waitFor(
        "every job complete",
        async () => (await queue.stats()).complete === 1_000,
        patiently,
      );
      const stats = await queue.stats();
      assert.equal(stats.pending + stats.processing + stats.failed, 0);

      // Runs per job; the victim's open runs end at the kill.
      const { runs, open } = runsOf(logs);
      const victimPid = String(workers[0]!.child.pid);
      let interrupted = 0;
      for (const [key, run] of open) {
        const rerun = runs.get(key.split(" ")[0]!)!.some((r) =>
          r[0] !== victimPid && r[1] >= killedAt - 50
        );
        assert.ok(rerun, `interrupted job ${key} was run again by a survivor`);
        assert.equal(
          run[0],
          victimPid,
          "only the killed process left runs open",
        );
        run[2] = killedAt;
        interrupted++;
      }
      assert.ok(interrupted >= 1, "the victim was killed mid-job");
      console.log(
        `killed pid ${victimPid} with ${interrupted} job(s) open; ${
          [...runs.values()].filter((l) => l.length > 1).length
        } job(s) ran more than once`,
      );
      assert.equal(runs.size, 1_000, "every job was started at least once");
      for (const id of ids) assert.ok(runs.has(id), id);
      for (const [id, list] of runs) {
        list.sort((a, b) => a[1] - b[1]);
        for (let i = 1; i < list.length; i++) {
          assert.ok(
            list[i]![1] >= list[i - 1]![2],
            `job ${id} ran in two processes at once: ${JSON.stringify(list)}`,
          );
        }
      }
    } finally {
      for (const w of workers.slice(1)) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => exited(w.child)));
      await queue.close();
      await backend.close();
    }
  });

  test("a producer SIGKILLed mid-enqueue leaves an intact file with every resolved job", async () => {
    const path = join(dir, "crash.db");
    const log = join(dir, "crash.log");
    const producer = start("enqueue", path, log, "crash");
    await waitFor(
      "200 resolved enqueues",
      () => lines(log).length >= 200,
      patiently,
    );
    producer.child.kill("SIGKILL");
    await exited(producer.child);
    const resolved = lines(log);

    const db = new DatabaseSync(path);
    try {
      const check = db.prepare("PRAGMA integrity_check").all() as {
        integrity_check: string;
      }[];
      assert.deepEqual(check.map((r) => r.integrity_check), ["ok"]);
    } finally {
      db.close();
    }
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "crash" });
    try {
      for (const id of resolved) {
        assert.equal((await queue.get(id))?.status, "pending", id);
      }
      const stats = await queue.stats();
      assert.ok(stats.pending >= resolved.length);
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("progress made in a child process reaches a subscriber in the parent", async () => {
    const path = join(dir, "subscribe.db");
    const log = join(dir, "subscribe.log");
    const backend = sqliteBackend({ path, eventInterval: 20 });
    const queue = createQueue({ backend, name: "sub" });
    try {
      const id = await queue.enqueue("job", { n: 1 });
      const seen: JobUpdate[] = [];
      const reading = (async () => {
        for await (
          const u of subscribe(queue, id, { resyncInterval: 60_000 })
        ) {
          seen.push(u);
        }
      })();
      await waitFor("the current state", () => seen.length === 1, patiently);
      const child = start("progress", path, log, "sub");
      await reading;
      await exited(child.child);
      assert.deepEqual(lines(log), ["DONE"], child.stderr());
      assert.deepEqual(
        seen.map((u) => [u.status, u.progress, u.message]),
        [
          ["pending", 0, ""],
          ["processing", 0, ""],
          ["processing", 0.5, "half"],
          ["complete", 0.5, "half"],
        ],
      );
      assert.deepEqual(seen.at(-1)?.result, { done: true });
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("an idle worker wakes for a job enqueued in another process", async () => {
    const path = join(dir, "wake.db");
    const log = join(dir, "wake.log");
    const backend = sqliteBackend({ path, eventInterval: 20 });
    const queue = createQueue({ backend, name: "wake" });
    let started!: (id: string) => void;
    const ran = new Promise<string>((resolve) => (started = resolve));
    const worker = createWorker(queue, {
      ping: (job) => {
        started(job.id);
        return null;
      },
    }, { pollInterval: 600_000 });
    try {
      await sleep(100); // the worker's first look finds nothing; now it idles
      const child = start("enqueue-one", path, log, "wake");
      await exited(child.child);
      const [id] = lines(log);
      assert.ok(id, child.stderr());
      const timeout = sleep(20_000).then(() => "no wake-up");
      assert.equal(await Promise.race([ran, timeout]), id);
    } finally {
      await worker.stop();
      await queue.close();
      await backend.close();
    }
  });
});
