/**
 * A worker's `handleSignals` in a real child process of the runtime that
 * runs this test (Deno, Node or Bun): on SIGTERM or SIGINT it stops
 * gracefully, lets its running job finish, calls `onStopped`, and the
 * process then exits 0 on its own; a second signal during the stop ends
 * the process at once, as it would without the worker.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./_support/time.ts";

const script = fileURLToPath(
  new URL("./fixtures/signal_worker.ts", import.meta.url),
);
const children = new Set<Child>();

after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** A child process: what it printed, a signal to send, how it ended. */
interface Child {
  out(): string[];
  kill(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

/** The fixture in this runtime, its job taking `ms`. */
function start(ms: number): Child {
  const child = "Deno" in globalThis ? startDeno(ms) : startNode(ms);
  const exit = child.exit.finally(() => children.delete(child));
  children.add(child);
  return { ...child, exit };
}

/**
 * On Node and Bun: node:child_process. (Deno's node:child_process reports
 * a child it signalled as ended by that signal even when it exited 0.)
 */
function startNode(ms: number): Child {
  const child = spawn(process.execPath, [script, String(ms)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  return {
    out: () => stdout.split("\n").filter(Boolean),
    kill: (signal) => child.kill(signal),
    exit: new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    ),
  };
}

/** On Deno: Deno.Command, whose status tells the real exit code. */
function startDeno(ms: number): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, String(ms)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let stdout = "";
  const reading = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeTo(new WritableStream({ write: (text) => void (stdout += text) }));
  return {
    out: () => stdout.split("\n").filter(Boolean),
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch { /* it already ended */ }
    },
    exit: child.status.then(async ({ code, signal }) => {
      await reading;
      return { code, signal };
    }),
  };
}

/** How long the waits for the child may take. */
const patiently = { timeout: 30_000, interval: 20 };

describe("handleSignals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`on ${signal} the worker finishes its running job, and the process exits 0`, async () => {
      const child = start(600);
      const { out, exit } = child;
      const id = await waitFor(
        "the job to start",
        () => out().find((l) => l.startsWith("start "))?.slice(6),
        patiently,
      );
      const sent = Date.now();
      child.kill(signal);
      const { code } = await exit;
      assert.equal(code, 0);
      // "ready" (the enqueue resolved) may come after the start: the
      // enqueue hands the job to the idle worker.
      const lines = out().filter((line) => line !== "ready");
      assert.deepEqual(lines.slice(lines.indexOf(`start ${id}`)), [
        `start ${id}`,
        `done ${id}`,
        `stopped ${signal}`,
      ]);
      assert.ok(Date.now() - sent < 10_000, "it did not wait for a timeout");
    });
  }

  test("a second signal during the stop ends the process at once", async () => {
    const child = start(20_000);
    const { out, exit } = child;
    await waitFor(
      "the job to start",
      () => out().some((l) => l.startsWith("start ")),
      patiently,
    );
    child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = Date.now();
    child.kill("SIGTERM");
    const { code, signal } = await exit;
    assert.ok(
      signal === "SIGTERM" || code === 143,
      `ended by the signal (code ${code}, signal ${signal})`,
    );
    assert.ok(Date.now() - sent < 5_000);
    assert.ok(!out().some((l) => l.startsWith("done ")), "the job did not end");
  });
});
