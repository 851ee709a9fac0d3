/**
 * Memory backend URLs: `memory:` (also `memory://`). Driver-free, as every
 * backend's `url.ts`: the scheme table calls it when a queue is created.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";

/**
 * Checks a memory URL. Everything after the scheme is ignored: each queue
 * made from a memory URL gets a backend of its own.
 *
 * @example
 * ```ts
 * import { parseMemoryUrl } from "./url.ts";
 * console.log(parseMemoryUrl("memory://")); // {}
 * ```
 *
 * @param url The URL.
 * @returns The backend's options (none).
 * @throws {ValidationError} when the URL is not a memory URL.
 */
export function parseMemoryUrl(url: string): Record<string, never> {
  if (typeof url !== "string" || !/^memory:/i.test(url)) {
    throw new ValidationError(
      `Cannot open the memory backend as the URL must start with memory: current value is ${
        JSON.stringify(url)
      }`,
    );
  }
  return {};
}
