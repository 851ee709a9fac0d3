/**
 * The files of examples/ run as their headers say, in the runtime that runs
 * this test (Deno, Node or Bun), from the repo (they import
 * `@jobline/jobline` as a user does): the demo, cancellation and the SQLite
 * file shared by two processes end by themselves with the output they
 * promise; worker.ts, in its own process, runs jobs that enqueue.ts (another
 * process) follows, and on SIGTERM finishes the job it runs before it ends.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  runFile,
  type Started,
  startFile,
  terminate,
} from "./_support/run_file.ts";
import { waitFor } from "./_support/time.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "jobline-examples-"));
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** How long the waits for a child may take. */
const patiently = { timeout: 30_000, interval: 20 };

/** Starts an example, killed at the end of the file if still running. */
function start(file: string, env: Record<string, string>): Started {
  const started = startFile(file, { cwd: root, env });
  children.add(started.child);
  started.exit.then(() => children.delete(started.child));
  return started;
}

describe("examples", () => {
  const cases: [file: string, expect: RegExp][] = [
    ["examples/demo.ts", /pending 0 {2}processing 0 {2}complete 36/],
    ["examples/cancel.ts", /final: cancelled, result: null/],
    ["examples/sqlite.ts", /complete: 3/],
  ];
  for (const [file, expect] of cases) {
    test(`${file} runs to its end`, async () => {
      const r = await runFile(file, { cwd: root });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, expect);
    });
  }

  test("worker.ts runs the jobs of enqueue.ts, another process, and on SIGTERM finishes its job before it ends", async () => {
    const env = { JOBLINE_URL: `sqlite://${join(dir, "jobs.db")}` };
    const worker = start("examples/worker.ts", env);
    await waitFor(
      "the worker to be ready",
      () => worker.lines().some((l) => l.startsWith("worker ready")),
      patiently,
    );

    // A job while the worker runs, followed from the enqueueing process.
    const first = await runFile("examples/enqueue.ts", { cwd: root, env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^complete sending to ada@example\.com$/m);

    // A second job, and SIGTERM while its handler is at work.
    const second = start("examples/enqueue.ts", env);
    await waitFor(
      "the job to be under way",
      () => second.lines().some((l) => l.startsWith("processing sending")),
      patiently,
    );
    assert.ok(
      await terminate(worker),
      `${worker.lines().join("\n")}\n${worker.stderr()}`,
    );
    assert.equal(await second.exit, 0, second.stderr());
    const lines = worker.lines();
    const sent = lines.filter((l) => l.startsWith("sent "));
    assert.equal(sent.length, 2, lines.join("\n"));
    assert.equal(lines.at(-1), "stopped on SIGTERM", lines.join("\n"));
    assert.equal(second.lines().at(-1), "complete sending to ada@example.com");
  });
});
