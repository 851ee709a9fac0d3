/**
 * The CLI's output: tables and key/value blocks for people, JSON for
 * scripts. Every value that comes from a job passes through `printable`
 * (tables) or `toJson` (JSON) so that job data can never move the cursor,
 * recolour or clear the terminal, or reorder text: control characters,
 * DEL, C1 and bidirectional overrides come out as visible escapes.
 *
 * @module
 */

import type { Job } from "../types.ts";

/** Control characters, DEL, C1, line/paragraph separators, bidi controls. */
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** What JSON.stringify leaves raw in strings but a terminal acts on. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\u001b": "\\e",
};

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ??
    (code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`);
}

/**
 * A text safe to print on a terminal, on one line: every control character
 * shown as an escape ("\n", "\e", "\x07", "\u202e").
 *
 * @example
 * ```ts
 * import { printable } from "./format.ts";
 * console.log(printable("a\u001b[2J") === "a\\e[2J"); // true
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/**
 * JSON of a value, indented, with the characters that JSON leaves raw but a
 * terminal would act on (DEL, C1, separators, bidi controls) as `\uXXXX`
 * escapes: still valid JSON that parses back to the same value.
 *
 * @example
 * ```ts
 * import { toJson } from "./format.ts";
 * console.log(toJson({ a: "\u009b" }, 0)); // {"a":"\u009b"} (escaped)
 * ```
 */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Cuts a text to `max` characters, ending with "…" when cut.
 *
 * @example
 * ```ts
 * import { cut } from "./format.ts";
 * console.log(cut("abcdef", 4)); // "abc…"
 * ```
 */
export function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}

/**
 * A table: a header row and rows, columns padded to their widest cell.
 * Cells are made printable.
 *
 * @example
 * ```ts
 * import { table } from "./format.ts";
 * console.log(table(["ID", "TYPE"], [["1", "resize"]]));
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((row) => row.map(printable));
  const widths = header.map((_, i) =>
    Math.max(...cells.map((row) => [...(row[i] ?? "")].length))
  );
  return cells.map((row) =>
    row.map((cell, i) =>
      i === row.length - 1 ? cell : cell + " ".repeat(
        widths[i]! - [...cell].length,
      )
    ).join("  ").trimEnd()
  ).join("\n");
}

/**
 * Lines of "key  value", keys padded; values made printable, a value of
 * several lines (a stack) indented under its first. Pairs whose value is
 * undefined are left out.
 *
 * @example
 * ```ts
 * import { keyValues } from "./format.ts";
 * console.log(keyValues([["id", "abc"], ["key", undefined]])); // "id  abc"
 * ```
 */
export function keyValues(pairs: [string, string | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  const indent = "\n" + " ".repeat(width + 2);
  return shown.map(([k, v]) =>
    `${k.padEnd(width)}  ${v.split(/\r?\n/).map(printable).join(indent)}`
  ).join("\n");
}

/**
 * An epoch-ms time in UTC, to the second: "2025-01-31 12:00:00Z".
 *
 * @example
 * ```ts
 * import { time } from "./format.ts";
 * console.log(time(0)); // "1970-01-01 00:00:00Z"
 * ```
 */
export function time(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ") + "Z";
}

/**
 * A progress of 0..1 as a whole percentage: "45%".
 *
 * @example
 * ```ts
 * import { percent } from "./format.ts";
 * console.log(percent(0.456)); // "46%"
 * ```
 */
export function percent(p: number): string {
  return `${Math.round(p * 100)}%`;
}

/** The columns of a job list. */
const JOB_HEADER = [
  "ID",
  "TYPE",
  "STATUS",
  "PRI",
  "TRIES",
  "PROGRESS",
  "CREATED",
  "KEY",
];

/**
 * A table of jobs, one row each.
 *
 * @example
 * ```ts
 * import { jobTable } from "./format.ts";
 * console.log(jobTable([]).startsWith("ID")); // true
 * ```
 */
export function jobTable(jobs: readonly Job[]): string {
  return table(
    JOB_HEADER,
    jobs.map((j) => [
      j.id,
      j.type,
      j.status,
      String(j.priority),
      `${j.attempt}/${j.maxAttempts}`,
      percent(j.progress),
      time(j.createdAt),
      cut(j.key ?? "", 40),
    ]),
  );
}

/** A JSON value on one line, for a key/value block. */
function inline(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/**
 * One job, field by field.
 *
 * @example
 * ```ts
 * import { createQueue } from "../queue.ts";
 * import { jobDetail } from "./format.ts";
 * await using queue = createQueue();
 * const job = await queue.get(await queue.enqueue("resize", { url: "a.png" }));
 * console.log(jobDetail(job!));
 * ```
 */
export function jobDetail(job: Job): string {
  const { error } = job;
  return keyValues([
    ["id", job.id],
    ["type", job.type],
    ["status", job.status],
    ["priority", String(job.priority)],
    ["attempt", `${job.attempt} of ${job.maxAttempts}`],
    ["progress", percent(job.progress)],
    ["message", job.message || undefined],
    ["key", job.key],
    ["run at", time(job.runAt)],
    ["created", time(job.createdAt)],
    ["updated", time(job.updatedAt)],
    ["started", job.startedAt === undefined ? undefined : time(job.startedAt)],
    [
      "finished",
      job.completedAt === undefined ? undefined : time(job.completedAt),
    ],
    ["ttl", job.ttl === undefined ? undefined : `${job.ttl} s`],
    ["expires", job.expiresAt === undefined ? undefined : time(job.expiresAt)],
    ["timeout", job.timeout === undefined ? undefined : `${job.timeout} ms`],
    [
      "flow",
      job.flow === undefined
        ? undefined
        : `${job.flow.ref} of ${job.flow.id}${
          job.flow.dependsOn.length
            ? `, after ${job.flow.dependsOn.join(", ")}`
            : ""
        }`,
    ],
    ["data", inline(job.data)],
    ["result", inline(job.result)],
    ["error", error ? `${error.name ?? "Error"}: ${error.message}` : undefined],
    ["stack", error?.stack],
    [
      "metadata",
      Object.keys(job.metadata).length ? inline(job.metadata) : undefined,
    ],
  ]);
}
