/**
 * The progress bar of long CLI operations (`retry --failed`, `clean`),
 * drawn on standard error only when it is a terminal, at most ten times a
 * second, and erased at the end. When standard error is not a terminal it
 * draws nothing at all: no carriage returns, no escapes in a log file.
 *
 * @module
 */

import type { CliIo } from "./types.ts";

/** A running progress display. */
export interface Progress {
  /** Moves the count on by `n` (and redraws, at most every 100 ms). */
  add(n: number): void;
  /** Erases the bar. */
  done(): void;
}

const NONE: Progress = { add() {}, done() {} };

/**
 * Starts a progress bar for `total` items (a total of 0 or less draws a
 * count without a bar), or a display that draws nothing when standard
 * error is not a terminal.
 *
 * @example
 * ```ts
 * import { startProgress } from "./progress.ts";
 * const bar = startProgress({ stdout() {}, stderr() {}, env: {} }, "retrying", 10);
 * bar.add(5);
 * bar.done();
 * ```
 *
 * @param io Where to draw; only when `io.stderrIsTTY`.
 * @param label What is going on, before the bar.
 * @param total How many items in all, if known.
 * @returns The display.
 */
export function startProgress(
  io: CliIo,
  label: string,
  total: number,
): Progress {
  if (!io.stderrIsTTY) return NONE;
  const columns = Math.max(40, io.columns ?? 80);
  let count = 0;
  let drawn = 0;
  const draw = (): void => {
    drawn = Date.now();
    io.stderr(`\r${line(label, count, total, columns)}\u001b[K`);
  };
  draw();
  return {
    add(n) {
      count += n;
      if (Date.now() - drawn >= 100) draw();
    },
    done() {
      io.stderr("\r\u001b[K");
    },
  };
}

/** One frame: "label [#####.....]  45%  450/1000", fitted to the width. */
function line(
  label: string,
  count: number,
  total: number,
  columns: number,
): string {
  if (total <= 0) return `${label} ${count}`;
  const share = Math.min(1, count / total);
  const tail = ` ${
    String(Math.floor(share * 100)).padStart(3)
  }%  ${count}/${total}`;
  const width = Math.max(10, columns - label.length - tail.length - 4);
  const full = Math.round(share * width);
  return `${label} [${"#".repeat(full)}${".".repeat(width - full)}]${tail}`;
}
