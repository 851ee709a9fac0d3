/**
 * The `jobline` CLI in-process: every command on the memory backend and on
 * a SQLite file (tests/_support/cli_suite.ts), then what holds whatever
 * the backend: usage errors exit 2 with one line on stderr, help and
 * version, schedules, migrate, job values that cannot corrupt a
 * terminal, and the progress bar only on a terminal. The real process is
 * tests/cli_process.test.ts; Redis and PostgreSQL tests/cli_servers.test.ts.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryBackend } from "../backends/memory/mod.ts";
import { createQueue } from "../src/queue.ts";
import { VERSION } from "../src/cli/help.ts";
import { parseDuration } from "../src/cli/args.ts";
import { failedJobs, runCli, type Target } from "./_support/cli.ts";
import { cliSuite } from "./_support/cli_suite.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-cli-"));
const shared = memoryBackend();
after(async () => {
  await shared.close();
  rmSync(dir, { recursive: true, force: true });
});

// Every `memory:` URL makes a store of its own, so the CLI's queue is
// opened on the store the test's queue uses.
const memory: Target = {
  url: "memory:",
  library: (options) => createQueue({ backend: shared, ...options }),
  openQueue: (_url, name) => createQueue({ backend: shared, name }),
};
const sqliteUrl = `sqlite://${join(dir, "jobs.db")}`;
const sqlite: Target = {
  url: sqliteUrl,
  library: (options) => createQueue(sqliteUrl, options),
};

cliSuite("memory", () => memory);
cliSuite("a SQLite file", () => sqlite);

/** Asserts an exit status and one line on stderr, nothing on stdout. */
async function refused(
  args: string[],
  code: number,
  message: RegExp,
  target: Target | null = memory,
): Promise<void> {
  const r = await runCli(args, target ? { target } : {});
  assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^jobline: [^\n]+\n$/);
  assert.match(r.stderr, message);
}

describe("jobline CLI usage", () => {
  test("bad usage exits 2 with a one-line message", async () => {
    await refused(["frobnicate"], 2, /unknown command "frobnicate"/);
    await refused(["list", "--frob"], 2, /unknown option '--frob'/);
    await refused(["--frob", "list"], 2, /unknown option '--frob'/);
    await refused(["list", "--limit"], 2, /--limit/);
    await refused(["list", "--limit", "0"], 2, /--limit: "0"/);
    await refused(["list", "--status", "lost"], 2, /status/);
    await refused(
      ["clean", "--status", "failed", "--older-than", "5x"],
      2,
      /bad duration/,
    );
    await refused(
      ["clean", "--status", "failed", "--older-than", "15"],
      2,
      /bad duration/,
    );
    await refused(["enqueue", "t", "{oops"], 2, /bad JSON for data/);
    await refused(["enqueue", "t", "--metadata", "[1]"], 2, /--metadata/);
    await refused(["enqueue", "t", "--priority", "urgent"], 2, /--priority/);
    await refused(["enqueue", "bad type!"], 2, /type/);
    await refused(["get"], 2, /usage: jobline get ID/);
    await refused(["get", "a", "b"], 2, /usage: jobline get ID/);
    await refused([], 2, /missing command/);
    await refused(["stats"], 2, /no backend URL/, null);
    await refused(["stats", "--url", "nosuch://x"], 2, /URL/, null);
  });

  test("the URL comes from JOBLINE_URL when --url is not given", async () => {
    const url = `sqlite://${join(dir, "env.db")}`;
    const r = await runCli(["enqueue", "t"], { env: { JOBLINE_URL: url } });
    assert.equal(r.code, 0, r.stderr);
    await using queue = createQueue(url);
    assert.equal((await queue.get(r.stdout.trim()))?.type, "t");
  });

  test("help, a command's help and the version print on stdout and exit 0", async () => {
    const general = await runCli(["--help"]);
    assert.equal(general.code, 0);
    for (const name of ["stats", "list", "retry", "clean", "tail", "migrate"]) {
      assert.match(general.stdout, new RegExp(`^  ${name}\\b`, "m"));
    }
    assert.equal((await runCli(["help"])).stdout, general.stdout);
    const clean = await runCli(["help", "clean"]);
    assert.match(clean.stdout, /^Usage: jobline clean --status S/);
    assert.match(clean.stdout, /--older-than DURATION/);
    assert.equal((await runCli(["clean", "--help"])).stdout, clean.stdout);
    const version = await runCli(["--version"]);
    assert.equal(version.stdout, `jobline ${VERSION}\n`);
    const deno = JSON.parse(
      readFileSync(new URL("../deno.json", import.meta.url), "utf8"),
    );
    assert.equal(VERSION, deno.version);
  });

  test("schedules lists the queue's schedules as the library stores them", async () => {
    const queue = memory.library({ name: "sched" });
    await queue.schedule("nightly", {
      cron: "0 3 * * *",
      tz: "Europe/Paris",
      type: "report",
    });
    await queue.schedule("ping", { every: 30_000, type: "ping" });
    const r = await runCli(["schedules", "--queue", "sched"], {
      target: memory,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME +WHEN +TYPE +NEXT RUN$/m);
    assert.match(
      r.stdout,
      /^nightly +cron 0 3 \* \* \* \(Europe\/Paris\) +report /m,
    );
    assert.match(r.stdout, /^ping +every 30000 ms +ping /m);
    const json = await runCli(["schedules", "--queue", "sched", "--json"], {
      target: memory,
    });
    assert.deepEqual(JSON.parse(json.stdout), await queue.schedules());
    await queue.close();
  });

  test("migrate FROM_URL TO_URL copies, or with --move moves, a queue to another backend", async () => {
    const from = `sqlite://${join(dir, "from.db")}`;
    const to = `sqlite://${join(dir, "to.db")}`;
    const source = createQueue(from, { name: "orders" });
    const target = createQueue(to, { name: "archive" });
    await source.enqueueMany([1, 2, 3].map((n) => ({ type: "t", data: n })));
    const copy = await runCli([
      "migrate",
      from,
      to,
      "--queue",
      "orders",
      "--to-queue",
      "archive",
      "--json",
    ]);
    assert.equal(copy.code, 0, copy.stderr);
    const report = JSON.parse(copy.stdout);
    assert.deepEqual([report.copied, report.verified], [3, true]);
    assert.equal((await target.stats()).pending, 3);
    assert.equal((await source.stats()).pending, 3, "copy leaves the source");
    const move = await runCli([
      "migrate",
      from,
      to,
      "--queue",
      "orders",
      "--to-queue",
      "archive",
      "--move",
    ]);
    assert.equal(move.code, 0, move.stderr);
    assert.match(
      move.stdout,
      /^copied 0, skipped 3 .* verified yes, removed 3$/m,
    );
    assert.equal((await source.stats()).pending, 0);
    await refused(
      ["migrate", from],
      2,
      /usage: jobline migrate FROM_URL TO_URL/,
      null,
    );
    await refused(
      ["migrate", from, to, "--statuses", "processing"],
      2,
      /never copied/,
      null,
    );
    await Promise.all([source.close(), target.close()]);
  });

  test("durations: 90s, 15m, 1h, 7d and friends", () => {
    assert.equal(parseDuration("90s", "x"), 90_000);
    assert.equal(parseDuration("15m", "x"), 900_000);
    assert.equal(parseDuration("1h", "x"), 3_600_000);
    assert.equal(parseDuration("7d", "x"), 604_800_000);
    assert.equal(parseDuration("500ms", "x"), 500);
    assert.equal(parseDuration("1.5h", "x"), 5_400_000);
    for (const bad of ["", "h", "-1h", "1 h", "1y", "1e3s"]) {
      assert.throws(() => parseDuration(bad, "x"), /bad duration/, bad);
    }
  });
});

describe("jobline CLI output", () => {
  /** Terminal controls: C0 but newline, DEL, C1, bidi overrides. */
  const CONTROL =
    // deno-lint-ignore no-control-regex
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  test("job values cannot move, recolour or clear the terminal", async () => {
    await using queue = memory.library({ name: "hostile" });
    const evil = "\u001b[2J\u001b]0;owned\u0007\u009b31m\u202eevil\r\n";
    const id = await queue.enqueue("t", { evil }, { key: `k${evil}` });
    const job = (await queue.claim())!;
    await queue.update(job, { message: evil });
    await queue.fail(job, Object.assign(new Error(evil), { name: "E" }), {
      retry: false,
    });
    const opts = { target: memory };
    for (
      const args of [["list"], ["get", id], ["stats"], ["tail", id]]
    ) {
      const r = await runCli([...args, "--queue", "hostile"], opts);
      assert.ok(
        !CONTROL.test(r.stdout),
        `${args[0]}: ${JSON.stringify(r.stdout)}`,
      );
      assert.ok(
        !CONTROL.test(r.stderr),
        `${args[0]}: ${JSON.stringify(r.stderr)}`,
      );
    }
    const shown = await runCli(["get", id, "--queue", "hostile"], opts);
    assert.ok(
      shown.stdout.includes("\\e[2J\\e]0;owned\\x07\\x9b31m\\u202eevil"),
    );
    const json = await runCli(
      ["get", id, "--json", "--queue", "hostile"],
      opts,
    );
    assert.ok(!CONTROL.test(json.stdout));
    assert.deepEqual(JSON.parse(json.stdout), await queue.get(id));
    const retry = await runCli(
      ["retry", `x${evil}`, "--queue", "hostile"],
      opts,
    );
    assert.equal(retry.code, 1);
    assert.ok(!CONTROL.test(retry.stderr), JSON.stringify(retry.stderr));
  });

  test("retry --failed over pages of jobs draws a progress bar only on a terminal", async () => {
    await using queue = memory.library({ name: "many" });
    const n = 1_100; // more than two pages of the CLI's list
    await failedJobs(queue, "t", n);
    const tty = await runCli(["retry", "--failed", "--queue", "many"], {
      target: memory,
      tty: true,
    });
    assert.equal(tty.code, 0, tty.stderr);
    assert.equal(tty.stdout, `retried ${n} failed jobs\n`);
    assert.match(tty.stderr, /^\rretrying \[/);
    assert.ok(
      tty.stderr.endsWith("\r\u001b[K"),
      "the bar is erased at the end",
    );
    assert.equal((await queue.stats()).failed, 0);
    assert.equal((await queue.stats()).pending, n);
    await failedJobs(queue, "u", 3);
    const plain = await runCli(["retry", "--failed", "--queue", "many"], {
      target: memory,
    });
    assert.deepEqual([plain.stdout, plain.stderr], [
      "retried 3 failed jobs\n",
      "",
    ]);
    await failedJobs(queue, "v", 3);
    const clean = await runCli([
      "clean",
      "--status",
      "failed",
      "--queue",
      "many",
    ], {
      target: memory,
      tty: true,
    });
    assert.equal(clean.stdout, "removed 3 failed jobs\n");
    assert.match(clean.stderr, /^\rremoving \[/);
  });
});
