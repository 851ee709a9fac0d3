/**
 * Reading back a stream's history (the Redis Streams backend's `replay`):
 * the entries of one queue and type, oldest first, as XRANGE returns them.
 * Every time a job became due it got an entry holding its id and data; the
 * entries stay after their jobs finish (and after retention removes the
 * jobs) until the stream is trimmed to its trim length. Reading changes
 * nothing: it is not a claim.
 *
 * @module
 */

import { checkName, invalid } from "../../src/validate.ts";
import type { JsonValue } from "../../src/types.ts";
import type { Runner } from "./scripts.ts";

/**
 * Where a replay starts and how much it reads.
 *
 * @example
 * ```ts ignore
 * import type { ReplayOptions } from "@jobline/jobline/redis-streams";
 * const lastHour: ReplayOptions = { from: Date.now() - 3_600_000, count: 500 };
 * ```
 */
export interface ReplayOptions {
  /**
   * Entries of jobs that became due at or after this time (epoch ms on the
   * queue's clock).
   *
   * @default {0}
   */
  from?: number;
  /**
   * Entries after this entry id (exclusive): the `id` of the last entry
   * of the previous page. Takes precedence over `from`.
   */
  after?: string;
  /**
   * Most entries returned, 1 to 10 000.
   *
   * @default {100}
   */
  count?: number;
}

/**
 * One entry of a stream's history: a job that became due.
 *
 * @example
 * ```ts ignore
 * import type { StreamEntry } from "@jobline/jobline/redis-streams";
 * const line = (e: StreamEntry): string => `${new Date(e.at).toISOString()} ${e.type} ${e.jobId}`;
 * ```
 */
export interface StreamEntry {
  /** The entry's id, `<ms>-<seq>`: pass it as `after` to read on. */
  id: string;
  /** When the job became due (epoch ms on the queue's clock). */
  at: number;
  /** The job's id. */
  jobId: string;
  /** The job's type (the stream's). */
  type: string;
  /** The job's data as it was then. */
  data: JsonValue;
}

const ENTRY_ID = /^\d+-\d+$/;

/** Reads up to `count` entries of a queue's stream of `type`. */
export async function replayStream(
  r: Runner,
  queue: string,
  type: string,
  options: ReplayOptions = {},
): Promise<StreamEntry[]> {
  const act = "replay stream";
  checkName(queue, act, "queue");
  checkName(type, act, "type");
  const { from = 0, after, count = 100 } = options;
  if (typeof from !== "number" || !Number.isSafeInteger(from) || from < 0) {
    throw invalid(act, "from", "a non-negative integer (epoch ms)", from);
  }
  if (after !== undefined && !ENTRY_ID.test(String(after))) {
    throw invalid(act, "after", "an entry id like 1700000000000-42", after);
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) {
    throw invalid(act, "count", "an integer in 1..10000", count);
  }
  const start = after === undefined ? String(from) : `(${after}`;
  const reply = await r.send(queue, [
    "XRANGE",
    `${r.ns(queue)}s:${type}`,
    start,
    "+",
    "COUNT",
    String(count),
  ], "replay") as [string, string[]][];
  return reply.map(([id, fields]) => {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      f.set(String(fields[i]), String(fields[i + 1]));
    }
    return {
      id: String(id),
      at: Number(String(id).slice(0, String(id).indexOf("-"))),
      jobId: f.get("j") ?? "",
      type,
      data: JSON.parse(f.get("d") ?? "null") as JsonValue,
    };
  });
}
