/**
 * A queue's options: checks createQueue's arguments and fills in the
 * defaults, before anything is made. Throws ValidationError only; it never
 * touches a backend.
 *
 * @module
 */

import type { Backend } from "./backend/interface.ts";
import {
  type BackoffFn,
  backoffFunction,
  type BackoffOptions,
} from "./backoff.ts";
import { checkTtl, type JobDefaults } from "./enqueue.ts";
import { ValidationError } from "./errors.ts";
import { checkKeep } from "./retention.ts";
import type { QueueOptions } from "./queue_types.ts";
import { checkName, checkNumber, invalid } from "./validate.ts";

const MiB = 1024 * 1024;

/** A queue's checked options. */
export interface QueueSettings<Tx> {
  /** The queue's name. */
  name: string;
  /** The default lease length, ms. */
  leaseMs: number;
  /** The largest data, result or metadata, in bytes of UTF-8 JSON. */
  maxPayloadBytes: number;
  /** The queue's clock, epoch ms. */
  clock: () => number;
  /** What a new job takes when its options do not say. */
  defaults: JobDefaults;
  /** The delay before a retry. */
  backoff: BackoffFn;
  /** The backend object given (its owner's to close); undefined for a URL. */
  backend: Backend<Tx> | undefined;
  /** Whether enqueues hand their jobs to idle workers (handoff.ts). */
  handOff: boolean;
}

/**
 * Checks createQueue's arguments and fills in the defaults.
 *
 * @param target A backend URL, the options, or nothing.
 * @param options The options, when `target` is a URL.
 * @returns The queue's settings.
 * @throws {ValidationError} when an argument is bad.
 */
export function checkQueueOptions<Tx>(
  target: string | QueueOptions<Tx> | undefined,
  options: QueueOptions<Tx> | undefined,
): QueueSettings<Tx> {
  const action = "create queue";
  if (
    target !== undefined && typeof target !== "string" &&
    (typeof target !== "object" || target === null)
  ) {
    throw invalid(
      action,
      "target",
      "a backend URL or an options object",
      target,
    );
  }
  const opts: QueueOptions<Tx> =
    typeof target === "string" || target === undefined
      ? { ...options }
      : { ...target, ...options };
  if (typeof target === "string" && opts.backend !== undefined) {
    throw new ValidationError(
      "Cannot create queue with both a URL and a 'backend' option",
    );
  }
  const {
    name = "default",
    maxAttempts = 3,
    leaseMs = 30_000,
    maxPayloadBytes = MiB,
    clock = Date.now,
    backend,
    handOff = true,
  } = opts;
  checkName(name, action, "name");
  checkNumber(maxAttempts, action, "maxAttempts", {
    min: 1,
    integer: true,
    max: 1_000_000,
  });
  checkNumber(leaseMs, action, "leaseMs", { min: 0, exclusive: true });
  checkNumber(maxPayloadBytes, action, "maxPayloadBytes", {
    min: 0,
    exclusive: true,
    integer: true,
  });
  if (opts.defaultTtl !== undefined) {
    checkTtl(opts.defaultTtl, action, "defaultTtl");
  }
  if (typeof clock !== "function") {
    throw invalid(action, "clock", "a function", clock);
  }
  if (typeof handOff !== "boolean") {
    throw invalid(action, "handOff", "a boolean", handOff);
  }
  if (
    backend !== undefined &&
    (typeof backend !== "object" || typeof backend.claim !== "function")
  ) {
    throw invalid(action, "backend", "a Backend object", backend);
  }
  return {
    name,
    leaseMs,
    maxPayloadBytes,
    clock,
    defaults: {
      maxAttempts,
      maxPayloadBytes,
      defaultTtl: opts.defaultTtl,
      keep: checkKeep(opts, action),
    },
    backoff: backoffFunction(opts.backoff as BackoffOptions | undefined),
    backend,
    handOff,
  };
}
