/**
 * Every command of the `jobline` CLI on one backend, run in-process through
 * `main` and checked against the library's own view of the same store.
 * Each test works on a queue of its own name, so one store serves them
 * all. Called by tests/cli.test.ts (memory, SQLite) and
 * tests/cli_servers.test.ts (Redis, PostgreSQL). Tests only.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Queue } from "../../src/queue_types.ts";
import {
  type CliOptions,
  type CliRun,
  completedJobs,
  failedJobs,
  freshName,
  runCli,
  startCli,
  type Target,
} from "./cli.ts";
import { waitFor } from "./time.ts";

/** A queue of its own for one test: the library's, and the CLI on it. */
interface Fresh {
  lib: Queue;
  name: string;
  run(args: string[], options?: CliOptions): Promise<CliRun>;
}

function fresh(target: () => Target, clock?: () => number): Fresh {
  const name = freshName();
  const t = target();
  return {
    name,
    lib: t.library({ name, ...(clock ? { clock } : {}) }),
    run: (args, options = {}) =>
      runCli([...args, "--queue", name], { target: t, ...options }),
  };
}

/** The ids of a JSON list page. */
function ids(run: CliRun): string[] {
  const page = JSON.parse(run.stdout) as { jobs: { id: string }[] };
  return page.jobs.map((j) => j.id);
}

/**
 * Registers the CLI suite on one backend.
 *
 * @param label The backend's name, for the test names.
 * @param target The store (read when the tests run, after any setup).
 */
export function cliSuite(label: string, target: () => Target): void {
  describe(`jobline CLI on ${label}`, () => {
    test("enqueue stores a job that the library reads back with its options", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const line = 'enqueue resize {"url":"a.png"} --priority=high --key=k1 ' +
        '--delay=1h --ttl=1d --timeout=90s --max-attempts=7 --metadata={"by":"cli"}';
      const r = await run(line.split(" "));
      assert.equal(r.code, 0, r.stderr);
      const job = await lib.get(r.stdout.trim());
      assert.ok(job);
      assert.deepEqual(
        [job.type, job.data, job.priority, job.key, job.maxAttempts],
        ["resize", { url: "a.png" }, 10, "k1", 7],
      );
      assert.equal(job.runAt - job.createdAt, 3_600_000);
      assert.deepEqual([job.ttl, job.timeout, job.metadata], [86_400, 90_000, {
        by: "cli",
      }]);
      const bare = await run(["enqueue", "ping", "--json"]);
      const { id } = JSON.parse(bare.stdout) as { id: string };
      assert.equal((await lib.get(id))?.data, null);
    });

    test("get prints a job, --json as the library reads it; an unknown id exits 1", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const [id] = await failedJobs(lib, "resize", 1);
      const table = await run(["get", id!]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^id +\S+$/m);
      assert.match(table.stdout, /^status +failed$/m);
      assert.match(table.stdout, /^error +Error: boom 0$/m);
      const json = await run(["get", id!, "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await lib.get(id!));
      const missing = await run(["get", "no-such-job"]);
      assert.deepEqual([missing.code, missing.stdout], [1, ""]);
      assert.match(
        missing.stderr,
        /^jobline: no job "no-such-job" in queue .+\n$/,
      );
    });

    test("list filters by status and type and pages with --limit and --cursor", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const pending = [];
      for (let i = 0; i < 3; i++) pending.push(await lib.enqueue("resize", i));
      const failed = await failedJobs(lib, "email", 2);
      assert.deepEqual(ids(await run(["list", "--json"])), [
        ...pending,
        ...failed,
      ]);
      assert.deepEqual(
        ids(await run(["list", "--status", "failed", "--json"])),
        failed,
      );
      assert.deepEqual(
        ids(await run(["list", "--type", "resize", "--json"])),
        pending,
      );
      const first = await run(["list", "--limit", "2", "--json"]);
      const { cursor } = JSON.parse(first.stdout) as { cursor: string };
      assert.deepEqual(ids(first), pending.slice(0, 2));
      const next = await run([
        "list",
        "--limit",
        "2",
        "--cursor",
        cursor,
        "--json",
      ]);
      assert.deepEqual(ids(next), [pending[2], failed[0]]);
      const table = await run(["list", "--limit", "2"]);
      assert.equal(table.code, 0);
      assert.equal(table.stdout.trim().split("\n").length, 3); // header, 2 rows
      assert.match(table.stdout, /^ID +TYPE +STATUS/);
      assert.equal(table.stderr, `more: --cursor ${cursor}\n`);
      const none = await run(["list", "--status", "cancelled"]);
      assert.equal(none.stdout, "no jobs\n");
    });

    test("stats counts what the library counts, and shows what is paused", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      await lib.enqueue("resize", null);
      await failedJobs(lib, "email", 2);
      await lib.pause("email");
      const r = await run(["stats", "--json"]);
      const shown = JSON.parse(r.stdout);
      assert.deepEqual(shown.stats, await lib.stats());
      assert.deepEqual([shown.paused, shown.pausedTypes], [false, ["email"]]);
      const table = await run(["stats"]);
      assert.match(table.stdout, /^\(all\) +1 +0 +0 +0 +2 +0 +no$/m);
      assert.match(table.stdout, /^email +0 +0 +0 +0 +2 +0 +yes$/m);
      assert.match(table.stdout, /^resize +1 +0 +0 +0 +0 +0 +no$/m);
    });

    test("retry --failed puts every failed job back to pending, --type only its own", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const a = await failedJobs(lib, "a", 5);
      const b = await failedJobs(lib, "b", 2);
      await lib.enqueue("a", null);
      const some = await run(["retry", "--failed", "--type", "b"]);
      assert.deepEqual([some.code, some.stdout], [
        0,
        "retried 2 failed jobs\n",
      ]);
      assert.deepEqual(
        (await lib.list({ status: "failed" })).jobs.map((j) => j.id),
        a,
      );
      const all = await run(["retry", "--failed", "--json"]);
      assert.deepEqual(JSON.parse(all.stdout), { retried: 5 });
      assert.equal(
        all.stderr,
        "",
        "no progress bar when stderr is no terminal",
      );
      assert.equal((await lib.stats()).failed, 0);
      const back = await lib.list({ status: "pending" });
      assert.equal(back.jobs.length, 8);
      for (const id of [...a, ...b]) {
        assert.equal((await lib.get(id))?.attempt, 0, "attempts afresh");
      }
    });

    test("retry ID... retries failed and cancelled jobs; any other exits 1, saying why", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const [failed] = await failedJobs(lib, "t", 1);
      const cancelled = await lib.enqueue("t", null);
      await lib.cancel(cancelled);
      const pending = await lib.enqueue("t", null);
      const r = await run(["retry", failed!, cancelled, pending, "nope"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, `retried ${failed}\nretried ${cancelled}\n`);
      assert.deepEqual(r.stderr.split("\n"), [
        `jobline: cannot retry: job ${pending} is pending, not failed or cancelled`,
        `jobline: cannot retry: no job "nope" in queue ${lib.name}`,
        "",
      ]);
      assert.equal((await lib.get(failed!))?.status, "pending");
      assert.equal((await lib.get(cancelled))?.status, "pending");
      assert.equal((await run(["retry"])).code, 2);
      assert.equal((await run(["retry", failed!, "--failed"])).code, 2);
    });

    test("cancel and remove change the job, and exit 1 when they cannot", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const id = await lib.enqueue("t", null);
      const c = await run(["cancel", id, "--reason", "not needed"]);
      assert.deepEqual([c.code, c.stdout], [0, `cancelled ${id}\n`]);
      const job = await lib.get(id);
      assert.deepEqual([job?.status, job?.error?.message], [
        "cancelled",
        "not needed",
      ]);
      const again = await run(["cancel", id]);
      assert.equal(again.code, 1);
      assert.match(
        again.stderr,
        /is cancelled, not waiting, pending or processing\n$/,
      );
      const r = await run(["remove", id, "--json"]);
      assert.deepEqual(JSON.parse(r.stdout), { id, removed: true });
      assert.equal(await lib.get(id), null);
      const gone = await run(["remove", id]);
      assert.equal(gone.code, 1);
      assert.equal((await run(["cancel", id])).code, 1);
    });

    test("flow shows a flow's jobs, list --status waiting finds its waiting ones, cancel-flow cancels them", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const f = await lib.enqueueFlow([
        { ref: "fetch", type: "t", data: null },
        { ref: "thumb", type: "t", data: null, dependsOn: ["fetch"] },
      ]);
      const shown = await run(["flow", f.id]);
      assert.equal(shown.code, 0);
      assert.match(shown.stdout, /^REF +ID +STATUS +AFTER$/m);
      assert.match(
        shown.stdout,
        new RegExp(`^thumb +${f.jobs.thumb} +waiting +fetch$`, "m"),
      );
      const json = await run(["flow", f.id, "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await lib.getFlow(f.id));
      const waiting = await run(["list", "--status", "waiting", "--json"]);
      assert.deepEqual(ids(waiting), [f.jobs.thumb]);
      const c = await run(["cancel-flow", f.id, "--reason", "no need"]);
      assert.deepEqual([c.code, c.stdout], [0, `cancelled flow ${f.id}\n`]);
      const thumb = await lib.get(f.jobs.thumb!);
      assert.deepEqual([thumb?.status, thumb?.error?.message], [
        "cancelled",
        "no need",
      ]);
      assert.equal((await run(["cancel-flow", f.id])).code, 1);
      const unknown = await run(["flow", "nope"]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no flow "nope"/);
    });

    test("limits shows the stored limits, --set replaces them as the library reads them, --clear removes them, a bad one exits 2", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      assert.deepEqual((await run(["limits"])).stdout, "no limits\n");
      const set = await run([
        "limits",
        "--set",
        '{"concurrency":50,"types":{"email":{"rate":{"max":100,"per":1000}}},"groups":{"concurrency":1}}',
      ]);
      assert.equal(set.code, 0);
      assert.match(set.stdout, /^\(queue\) +50 +-$/m);
      assert.match(set.stdout, /^type email +- +100\/1000ms$/m);
      assert.match(set.stdout, /^\(each group\) +1 +-$/m);
      assert.deepEqual(await lib.getLimits(), {
        concurrency: 50,
        types: { email: { rate: { max: 100, per: 1000 } } },
        groups: { concurrency: 1 },
      });
      const json = await run(["limits", "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await lib.getLimits());
      const bad = await run(["limits", "--set", '{"concurrency":0}']);
      assert.equal(bad.code, 2);
      assert.equal((await lib.getLimits()).concurrency, 50, "unchanged");
      assert.equal((await run(["limits", "--clear"])).stdout, "no limits\n");
      assert.deepEqual(await lib.getLimits(), {});
    });

    test("clean removes the jobs of a status older than --older-than, and no others", async () => {
      const twoHoursAgo = () => Date.now() - 2 * 3_600_000;
      const { lib, run, name } = fresh(target);
      await using _ = lib;
      await using old = target().library({ name, clock: twoHoursAgo });
      const stale = await completedJobs(old, "t", 3);
      await completedJobs(old, "u", 1);
      await failedJobs(old, "t", 1);
      const recent = await completedJobs(lib, "t", 2);
      const r = await run([
        "clean",
        "--status",
        "complete",
        "--older-than",
        "1h",
        "--type",
        "t",
      ]);
      assert.deepEqual(
        [r.code, r.stdout],
        [0, "removed 3 complete jobs\n"],
        r.stderr,
      );
      for (const id of stale) assert.equal(await lib.get(id), null);
      for (const id of recent) assert.ok(await lib.get(id));
      const stats = await lib.stats();
      assert.deepEqual([stats.complete, stats.failed], [3, 1]);
      const one = await run([
        "clean",
        "--status",
        "complete",
        "--limit",
        "1",
        "--json",
      ]);
      assert.deepEqual(JSON.parse(one.stdout), { removed: 1 });
      const failed = await run([
        "clean",
        "--status=failed",
        "--older-than=90m",
      ]);
      assert.equal(failed.stdout, "removed 1 failed jobs\n");
      assert.equal((await lib.stats()).complete, 2);
      assert.equal((await run(["clean", "--status", "processing"])).code, 2);
      assert.equal((await run(["clean"])).code, 2);
    });

    test("pause and resume a type or the whole queue, as the library sees it", async () => {
      const { lib, run } = fresh(target);
      await using _ = lib;
      const p = await run(["pause", "resize"]);
      assert.deepEqual([p.code, p.stdout], [
        0,
        `paused type resize of queue ${lib.name}\n`,
      ]);
      assert.equal(await lib.isPaused("resize"), true);
      assert.equal(await lib.isPaused(), false);
      const again = await run(["pause", "resize", "--json"]);
      assert.deepEqual(JSON.parse(again.stdout), {
        queue: lib.name,
        type: "resize",
        paused: true,
        changed: false,
      });
      assert.equal((await run(["pause"])).code, 0);
      assert.equal(await lib.isPaused(), true);
      assert.equal((await run(["resume"])).code, 0);
      assert.equal(await lib.isPaused(), false);
      assert.equal(await lib.isPaused("resize"), true);
      const r = await run(["resume", "resize"]);
      assert.equal(r.stdout, `resumed type resize of queue ${lib.name}\n`);
      assert.equal(await lib.isPaused("resize"), false);
    });

    test("tail ID prints a job's updates until it ends: 0 when complete, 1 when not", async () => {
      const { lib, name } = fresh(target);
      await using _ = lib;
      const t = target();
      const tail = (id: string) =>
        startCli(["tail", id, "--queue", name], { target: t });
      const id = await lib.enqueue("t", null);
      const ok = tail(id);
      await waitFor("the first update", () => ok.stdout().includes("pending"));
      const job = (await lib.claim())!;
      await lib.update(job, { progress: 0.5, message: "half way" });
      await lib.complete(job, 1);
      const done = await ok.done;
      assert.equal(done.code, 0, done.stderr);
      const lines = done.stdout.trim().split("\n");
      assert.match(lines[0]!, new RegExp(`  ${id}  t  pending  0%$`));
      assert.match(lines.at(-1)!, new RegExp(`  ${id}  t  complete  `));
      assert.ok(done.stdout.includes("  50%  half way"), done.stdout);
      const [failed] = await failedJobs(lib, "t", 1);
      const bad = await tail(failed!).done;
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, `job ${failed} ended failed\n`);
      const unknown = await tail("nope").done;
      assert.equal(unknown.code, 1);
    });

    test("tail with no ID streams every update of the queue until its signal aborts", async () => {
      const { lib, name } = fresh(target);
      await using _ = lib;
      const stop = new AbortController();
      const tail = startCli(["tail", "--json", "--queue", name], {
        target: target(),
        signal: stop.signal,
      });
      // Probe until the subscription is in place.
      await waitFor("tail to listen", async () => {
        await lib.enqueue("probe", null);
        return tail.stdout().length > 0;
      }, { interval: 100 });
      const a = await lib.enqueue("t", "a");
      await lib.cancel(a);
      await waitFor(
        "both updates",
        () => tail.stdout().includes('"cancelled"'),
      );
      stop.abort();
      const done = await tail.done;
      assert.equal(done.code, 0, done.stderr);
      const updates = done.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const mine = updates.filter((u) => u.jobId === a);
      assert.deepEqual(mine.map((u) => u.status), ["pending", "cancelled"]);
    });
  });
}
