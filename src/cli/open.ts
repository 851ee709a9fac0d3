/**
 * Opening the queue a CLI command works on: `io.openQueue` when the caller
 * gives one (tests), else `createQueue(url, { name })`; a bad URL or name is
 * bad usage (exit 2).
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import { createQueue } from "../queue.ts";
import type { Queue } from "../queue_types.ts";
import { type CliIo, UsageError } from "./types.ts";

/** The queue; a bad URL or name is bad usage. */
export function open(io: CliIo, url: string, name: string): Queue {
  try {
    return io.openQueue?.(url, name) ?? createQueue(url, { name });
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}
