/**
 * The `jobline` command line: `deno run -A jsr:@jobline/jobline/cli`,
 * `deno task cli` in the repository, and the `jobline` bin of the npm
 * package on Node and Bun. Running this module runs the CLI on the
 * process's arguments and exits with its status; its one job is to connect
 * `main` (src/cli/mod.ts) to the process: streams, environment, Ctrl-C.
 *
 * ```sh
 * export JOBLINE_URL=sqlite://./jobs.db
 * deno run -A jsr:@jobline/jobline/cli stats
 * deno run -A jsr:@jobline/jobline/cli retry --failed
 * ```
 *
 * @module
 */

import process from "node:process";
import { main } from "./mod.ts";

const controller = new AbortController();
// The first Ctrl-C ends `tail` cleanly (the queue closes); a second one
// leaves at once.
const onSignal = (): void => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

// The backends' timers never hold a process open, so a `tail` waiting for
// updates would let Node and Bun end it: this one does, until main ends.
const keepAlive = setInterval(() => {}, 1 << 30);
const code = await main(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns ?? 80,
  signal: controller.signal,
});
clearInterval(keepAlive);

// Let piped output drain before the process ends.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
process.exit(code);
