/**
 * The `jobline` CLI as a user runs it: src/cli/main.ts started as a process
 * of the runtime that runs the test (`deno run -A`, `node`, `bun`) on a
 * SQLite file, for its exit statuses (0, 1, 2), its one-line messages on
 * stderr and its output through a pipe.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "../src/queue.ts";
import { spawnCli, startCliProcess } from "./_support/cli.ts";
import { waitFor } from "./_support/time.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-cli-process-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the jobline process", () => {
  test("exits 0, 1 and 2 with one line on stderr, and reads JOBLINE_URL", async () => {
    const url = `sqlite://${join(dir, "jobs.db")}`;
    const env = { JOBLINE_URL: url };
    const enqueued = await spawnCli(["enqueue", "resize", '{"w":1}'], env);
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const id = enqueued.stdout.trim();
    await using queue = createQueue(url);
    assert.deepEqual((await queue.get(id))?.data, { w: 1 });

    const stats = await spawnCli(["stats", "--url", url]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^resize +1 +0 +0 +0 +0 +0 +no$/m);
    assert.equal(stats.stderr, "");

    const json = await spawnCli(["list", "--json"], env);
    assert.deepEqual(
      JSON.parse(json.stdout).jobs.map((j: { id: string }) => j.id),
      [id],
    );

    const job = (await queue.claim())!;
    await queue.complete(job, 42);
    const tail = await spawnCli(["tail", id], env);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, new RegExp(`  ${id}  resize  complete  0%\n$`));

    const missing = await spawnCli(["get", "nope"], env);
    assert.deepEqual([missing.code, missing.stdout], [1, ""]);
    assert.equal(missing.stderr, 'jobline: no job "nope" in queue default\n');

    const retry = await spawnCli(["retry", id], env);
    assert.equal(retry.code, 1);
    assert.equal(
      retry.stderr,
      `jobline: cannot retry: job ${id} is complete, not failed or cancelled\n`,
    );

    for (
      const [args, message] of [
        [["stats"], "jobline: no backend URL: pass --url or set JOBLINE_URL\n"],
        [
          ["lsit", "--url", url],
          'jobline: unknown command "lsit": run "jobline --help"\n',
        ],
        [
          ["list", "--bogus", "--url", url],
          "jobline: unknown option '--bogus'\n",
        ],
      ] as const
    ) {
      const r = await spawnCli([...args]);
      assert.deepEqual(
        [r.code, r.stdout, r.stderr],
        [2, "", message],
        args.join(" "),
      );
    }
    const duration = await spawnCli([
      "clean",
      "--status",
      "failed",
      "--older-than",
      "soon",
    ], env);
    assert.equal(duration.code, 2);
    assert.match(
      duration.stderr,
      /^jobline: bad duration for --older-than: "soon" [^\n]*\n$/,
    );

    const unknown = await spawnCli(["migrate", "memory:", "nope:"], env);
    assert.deepEqual(unknown.code, 2);
    assert.match(unknown.stderr, /^jobline: [^\n]*nope[^\n]*\n$/);
    const help = await spawnCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^jobline \d+\.\d+\.\d+: /);
  });

  test(
    "tail ID stays up until the job ends, then exits 0",
    { timeout: 60_000 },
    async () => {
      const url = `sqlite://${join(dir, "tail.db")}`;
      await using queue = createQueue(url);
      const id = await queue.enqueue("t", null);
      const tail = startCliProcess(["tail", id, "--url", url]);
      await waitFor(
        "tail's first line",
        () => tail.stdout().includes("pending"),
        {
          timeout: 30_000,
        },
      );
      const job = (await queue.claim())!;
      await queue.update(job, { progress: 0.25, message: "a quarter" });
      await queue.complete(job, null);
      assert.equal(await tail.exit, 0);
      const lines = tail.stdout().trim().split("\n");
      assert.match(lines.at(-1)!, new RegExp(`  ${id}  t  complete  `));
      assert.ok(tail.stdout().includes("25%  a quarter"), tail.stdout());
    },
  );
});
