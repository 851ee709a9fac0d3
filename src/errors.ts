/**
 * The errors users catch. Each has a stable `code`, a `name` and, where it
 * wraps another failure, a `cause`. Everything else jobline throws is a
 * built-in error.
 *
 * @module
 */

/**
 * The base of every jobline error: catch it to catch them all.
 *
 * @example
 * ```ts
 * import { JoblineError, createQueue } from "@jobline/jobline";
 * const queue = createQueue();
 * try {
 *   await queue.enqueue("bad name!", null);
 * } catch (err) {
 *   if (err instanceof JoblineError) console.log(err.code); // "VALIDATION"
 * }
 * await queue.close();
 * ```
 */
export class JoblineError extends Error {
  /** A stable, machine-readable code. */
  readonly code: string;

  /**
   * Makes an error with a code.
   *
   * @param code The stable code.
   * @param message What went wrong.
   * @param options The cause, if any.
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = "JoblineError";
  }
}

/**
 * Bad input: a bad type name, priority, progress, delay, ttl or option, or
 * data that is not JSON or is too large. Nothing was stored.
 *
 * @example
 * ```ts
 * import { ValidationError, createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * await queue.enqueue("resize", null, { priority: 0 }).catch((err) => {
 *   console.log(err instanceof ValidationError); // true
 * });
 * ```
 */
export class ValidationError extends JoblineError {
  /**
   * Makes a validation error.
   *
   * @param message What was wrong, with the value.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("VALIDATION", message, options);
    this.name = "ValidationError";
  }
}

/**
 * The lease of a claimed job is no longer held: it ran out and the job was
 * claimed again, or the job was cancelled or removed. The operation changed
 * nothing.
 *
 * @example
 * ```ts
 * import { LeaseLostError, createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * const id = await queue.enqueue("resize", null);
 * const job = await queue.claim();
 * await queue.cancel(id);
 * await queue.complete(job!, null).catch((err) => {
 *   console.log(err instanceof LeaseLostError); // true
 * });
 * ```
 */
export class LeaseLostError extends JoblineError {
  /** The job whose lease was lost. */
  readonly jobId: string;

  /**
   * Makes a lease-lost error.
   *
   * @param jobId The job.
   * @param message What happened, if more is known.
   */
  constructor(jobId: string, message?: string) {
    super(
      "LEASE_LOST",
      message ?? `Lease on job '${jobId}' is no longer held`,
    );
    this.name = "LeaseLostError";
    this.jobId = jobId;
  }
}

/**
 * The queue (or worker) was closed before the operation.
 *
 * @example
 * ```ts
 * import { QueueClosedError, createQueue } from "@jobline/jobline";
 * const queue = createQueue();
 * await queue.close();
 * await queue.enqueue("resize", null).catch((err) => {
 *   console.log(err instanceof QueueClosedError); // true
 * });
 * ```
 */
export class QueueClosedError extends JoblineError {
  /**
   * Makes a queue-closed error.
   *
   * @param message What was closed.
   */
  constructor(message = "Cannot use the queue as it is closed") {
    super("QUEUE_CLOSED", message);
    this.name = "QueueClosedError";
  }
}

/**
 * The store failed: connection refused, server gone, disk full. The original
 * error is the `cause`.
 *
 * @example
 * ```ts
 * import { BackendError } from "@jobline/jobline";
 * const err = new BackendError("redis: connection refused", { cause: new Error("ECONNREFUSED") });
 * console.log(err.code, err.cause instanceof Error); // "BACKEND" true
 * ```
 */
export class BackendError extends JoblineError {
  /**
   * Makes a backend error.
   *
   * @param message What failed.
   * @param options The original error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND", message, options);
    this.name = "BackendError";
  }
}

/**
 * The job is unknown, or was removed or expired: for a caller that asked to
 * be told, such as `subscribe(queue, id, { ifMissing: "throw" })`.
 *
 * @example
 * ```ts
 * import { JobNotFoundError, createQueue, subscribe } from "@jobline/jobline";
 * await using queue = createQueue();
 * try {
 *   for await (const u of subscribe(queue, "no-such-job", { ifMissing: "throw" })) {
 *     console.log(u.status);
 *   }
 * } catch (err) {
 *   if (err instanceof JobNotFoundError) console.log("404", err.jobId);
 * }
 * ```
 */
export class JobNotFoundError extends JoblineError {
  /** The job that was not found. */
  readonly jobId: string;

  /**
   * Makes a job-not-found error.
   *
   * @param jobId The job.
   * @param message What happened, if more is known.
   */
  constructor(jobId: string, message?: string) {
    super(
      "JOB_NOT_FOUND",
      message ?? `Job '${jobId}' is unknown, removed or expired`,
    );
    this.name = "JobNotFoundError";
    this.jobId = jobId;
  }
}

/**
 * Wraps anything thrown by a store call in a {@linkcode BackendError},
 * leaving jobline's own errors as they are. For backend authors.
 *
 * @example
 * ```ts
 * import { toBackendError } from "@jobline/jobline/backend";
 * const err = toBackendError(new Error("ECONNRESET"), "redis claim");
 * console.log(err.message); // "redis claim failed: ECONNRESET"
 * ```
 *
 * @param err What was thrown.
 * @param what The operation, for the message.
 * @returns The error to throw.
 */
export function toBackendError(err: unknown, what: string): Error {
  if (err instanceof JoblineError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new BackendError(`${what} failed: ${detail}`, { cause: err });
}
