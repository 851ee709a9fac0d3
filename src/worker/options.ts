/**
 * A worker's options: checks createWorker's handlers and options and fills
 * in the defaults, before the worker starts. Throws ValidationError only;
 * it never calls the queue.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import { checkName, checkNumber, invalid } from "../validate.ts";
import type { HandleSignalsOptions, WorkerOptions } from "./types.ts";

/** A worker's checked options. */
export interface WorkerSettings {
  /** The job types it claims: those it has handlers for. */
  types: string[];
  /** Handlers run at once, at most. */
  concurrency: number;
  /** The lease length of its claims and heartbeats, ms. */
  leaseMs: number;
  /** How often an idle worker looks for work, ms. */
  pollInterval: number;
  /** How often its leases are extended, ms. */
  heartbeatInterval: number;
  /** The most jobs it may hold claimed ahead of free slots. */
  prefetch: number;
  /** Claim calls under way at most: a second only while claiming ahead. */
  maxClaims: number;
  /** The most ms an attempt of a job without its own timeout runs; none when undefined. */
  timeout: number | undefined;
  /** Stop on SIGTERM and SIGINT, and how; undefined when not. */
  handleSignals: HandleSignalsOptions | undefined;
}

/**
 * Checks createWorker's handlers and options and fills in the defaults.
 *
 * @param queueLeaseMs The queue's lease length, the default.
 * @param handlers The handlers by job type.
 * @param options The worker's options.
 * @returns The worker's settings.
 * @throws {ValidationError} when an argument is bad.
 */
export function checkWorkerOptions(
  queueLeaseMs: number,
  handlers: unknown,
  options: WorkerOptions,
): WorkerSettings {
  const act = "create worker";
  if (handlers === null || typeof handlers !== "object") {
    throw invalid(act, "handlers", "an object", handlers);
  }
  const types = Object.keys(handlers);
  if (types.length === 0) {
    throw new ValidationError("Cannot create worker without handlers");
  }
  for (const t of types) {
    // A handler's name is the job type it claims: a name no job can have
    // would give a worker whose every claim fails.
    checkName(t, act, "handlers");
    const handler = (handlers as Record<string, unknown>)[t];
    if (typeof handler !== "function") {
      throw invalid(act, `handlers.${t}`, "a function", handler);
    }
  }
  const {
    concurrency = 1,
    leaseMs = queueLeaseMs,
    pollInterval = 1000,
    heartbeatInterval = Math.max(1, Math.floor(leaseMs / 3)),
    prefetch = 2000,
  } = options;
  checkNumber(concurrency, act, "concurrency", {
    min: 1,
    integer: true,
    max: 10_000,
  });
  checkNumber(leaseMs, act, "leaseMs", { min: 0, exclusive: true });
  checkNumber(pollInterval, act, "pollInterval", { min: 0, exclusive: true });
  checkNumber(heartbeatInterval, act, "heartbeatInterval", {
    min: 0,
    exclusive: true,
  });
  checkNumber(prefetch, act, "prefetch", {
    min: 0,
    integer: true,
    max: 10_000,
  });
  const maxClaims = prefetch > 0 ? 2 : 1;
  const { timeout } = options;
  if (timeout !== undefined) {
    checkNumber(timeout, act, "timeout", { min: 0, exclusive: true });
  }
  return {
    types,
    concurrency,
    leaseMs,
    pollInterval,
    heartbeatInterval,
    prefetch,
    maxClaims,
    timeout,
    handleSignals: checkHandleSignals(options.handleSignals),
  };
}

/** Checks the `handleSignals` option: true, false or its options. */
function checkHandleSignals(
  value: WorkerOptions["handleSignals"],
): HandleSignalsOptions | undefined {
  const act = "create worker";
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== "object") {
    throw invalid(act, "handleSignals", "a boolean or an object", value);
  }
  const { timeout, onStopped } = value;
  if (timeout !== undefined) {
    checkNumber(timeout, act, "handleSignals.timeout");
  }
  if (onStopped !== undefined && typeof onStopped !== "function") {
    throw invalid(act, "handleSignals.onStopped", "a function", onStopped);
  }
  return value;
}
