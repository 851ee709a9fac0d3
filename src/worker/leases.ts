/**
 * Lease keeping: the jobs whose lease a worker holds (claimed ahead, running,
 * or storing their result), their heartbeats on a timer, the check of a
 * cancel event, and the loss of a lease, which aborts the job's signal. It
 * never starts a handler nor stores a result, and none of its background
 * calls may reject unhandled.
 *
 * @module
 */

import { LeaseLostError, QueueClosedError } from "../errors.ts";
import type { Queue } from "../queue_types.ts";
import { timerMs } from "../timers.ts";
import type { ClaimedJob } from "../types.ts";

/** A job whose lease the worker holds, and the controller of its signal. */
export interface Running {
  /** The claimed job (its `lease.until` moves with each heartbeat). */
  job: ClaimedJob;
  /** Aborts the handler's `ctx.signal`. */
  controller: AbortController;
  /** Its handler was started (it left the worker's line for a slot). */
  started?: boolean;
  /** The attempt's outcome is decided (by its handler, or abandoned). */
  decided?: boolean;
}

/** What a lease keeper works with. */
export interface LeaseKeeperOptions {
  /** The queue the leases are on. */
  queue: Pick<Queue, "heartbeat">;
  /** The lease length each heartbeat asks for, ms. */
  leaseMs: number;
  /** How often the leases are extended, ms. */
  heartbeatInterval: number;
  /** Where a failed heartbeat goes (not a lost lease, not a closed queue). */
  report(error: unknown, job?: ClaimedJob): void;
  /** A lease was lost and the job's signal aborted with a LeaseLostError. */
  onLost(entry: Running): void;
}

/** The leases a worker holds. */
export interface LeaseKeeper {
  /** How many leases are held. */
  readonly size: number;
  /** Holds a newly claimed job's lease; heartbeats start with the first. */
  hold(job: ClaimedJob): Running;
  /** The job's result is stored (or it was lost): its lease is no longer ours. */
  settle(job: ClaimedJob): void;
  /** Extends every lease whose signal has not aborted, now. */
  beat(): void;
  /**
   * A cancel event came for a job: asks the backend with a heartbeat (the
   * event may be about an earlier lease of the job) and loses the lease
   * only if that is refused.
   */
  cancelled(jobId: string): void;
  /** Resolves once no lease is held. */
  drained(): Promise<void>;
  /** Aborts every held job's signal with `reason`, then calls `each` on it. */
  abortAll(reason: unknown, each?: (entry: Running) => void): void;
  /** Stops the heartbeats. */
  stop(): void;
}

/**
 * Makes the lease keeper of one worker.
 *
 * @param o The queue, lease length, heartbeat interval and callbacks.
 * @returns A keeper holding no lease.
 */
export function createLeaseKeeper(o: LeaseKeeperOptions): LeaseKeeper {
  // By the claimed job, not its id: a job the worker claims again (its
  // lease lost while its handler still runs) has two entries, and the old
  // run's end must not drop the new run's lease.
  const active = new Map<ClaimedJob, Running>();
  /** The entries of each job id, for a cancel event (mostly one). */
  const byId = new Map<string, Set<Running>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let drained: (() => void) | null = null;

  function lose(entry: Running, reason: LeaseLostError): void {
    entry.controller.abort(reason);
    o.onLost(entry);
  }

  /** Heartbeats one lease; `lost` names the loss when it is refused. */
  function extend(entry: Running, lost: (err: LeaseLostError) => void): void {
    o.queue.heartbeat(entry.job, { leaseMs: o.leaseMs }).catch((err) => {
      if (err instanceof LeaseLostError) lost(err);
      else if (!(err instanceof QueueClosedError)) o.report(err, entry.job);
    });
  }

  function beat(): void {
    for (const entry of active.values()) {
      if (entry.controller.signal.aborted) continue;
      extend(entry, (err) => lose(entry, err));
    }
  }

  return {
    get size() {
      return active.size;
    },
    hold(job) {
      const entry: Running = {
        job,
        controller: new AbortController(),
        decided: false,
      };
      active.set(job, entry);
      let same = byId.get(job.id);
      if (same === undefined) byId.set(job.id, same = new Set());
      same.add(entry);
      // A lease above 2^31-1 ms still gets a heartbeat every ~24.8 days:
      // sooner than asked is harmless, a timer clamped to 1 ms is not.
      timer ??= setInterval(beat, timerMs(o.heartbeatInterval));
      return entry;
    },
    settle(job) {
      const entry = active.get(job);
      if (entry !== undefined) {
        active.delete(job);
        const same = byId.get(job.id)!;
        same.delete(entry);
        if (same.size === 0) byId.delete(job.id);
      }
      if (active.size === 0) {
        clearInterval(timer);
        timer = undefined;
        drained?.();
      }
    },
    beat,
    cancelled(jobId) {
      for (const entry of byId.get(jobId) ?? []) {
        if (entry.controller.signal.aborted) continue;
        extend(entry, () =>
          lose(
            entry,
            new LeaseLostError(
              jobId,
              `Job '${jobId}' was cancelled, removed or its lease expired`,
            ),
          ));
      }
    },
    drained() {
      if (active.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (drained = resolve));
    },
    abortAll(reason, each) {
      for (const entry of [...active.values()]) {
        entry.controller.abort(reason);
        each?.(entry);
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
