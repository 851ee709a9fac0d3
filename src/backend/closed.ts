/**
 * The one wording of "this backend is closed", for every backend.
 *
 * @module
 */

import { BackendError } from "../errors.ts";

/**
 * The error an operation on a closed backend rejects with.
 *
 * @example
 * ```ts
 * import { backendClosed } from "@jobline/jobline/backend";
 * console.log(backendClosed("redis").message); // "Cannot use the redis backend as it is closed"
 * ```
 *
 * @param name The backend's name ("memory", "sqlite", ...).
 * @returns A BackendError.
 */
export function backendClosed(name: string): BackendError {
  return new BackendError(`Cannot use the ${name} backend as it is closed`);
}
