/**
 * The memory backend: the embedded default. Jobs live in this process only.
 *
 * Claims never scan every job: due jobs sit in one priority heap per type,
 * keyed by (priority, sequence); delayed jobs in a heap by runAt; leases in a
 * heap by deadline; TTLs in a heap by expiry. Heap entries are checked when
 * popped (lazy deletion), so cancel and remove stay O(1).
 *
 * @module
 */

import type {
  Backend,
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  ListRequest,
  NewJobRecord,
  Topic,
} from "../../src/backend/interface.ts";
import { BackendError } from "../../src/errors.ts";
import type { BackendCapabilities, QueueStats } from "../../src/types.ts";
import {
  copy,
  drop,
  emptyCounts,
  finish,
  held,
  housekeep,
  type Listener,
  live,
  newState,
  next,
  publish,
  type Rec,
  schedule,
  signal,
  type State,
  touch,
} from "./transitions.ts";

/**
 * Makes a memory backend: fast, in-process, not persistent. One backend may
 * serve several queues (by name). Close it when you created it yourself.
 *
 * @example Sharing one memory backend between two queues
 * ```ts
 * import { createQueue, memoryBackend } from "@jobline/jobline";
 * const backend = memoryBackend();
 * const emails = createQueue({ backend, name: "emails" });
 * const images = createQueue({ backend, name: "images" });
 * await emails.enqueue("send", { to: "a@example.com" });
 * console.log((await images.stats()).pending); // 0
 * await emails.close();
 * await images.close();
 * await backend.close();
 * ```
 *
 * @returns The backend.
 */
export function memoryBackend(): Backend {
  const queues = new Map<string, State>();
  let seq = 0;
  let tokens = 0;
  let closed = false;

  function state(queue: string): State {
    if (closed) throw new BackendError("memory backend is closed");
    let s = queues.get(queue);
    if (s === undefined) {
      s = newState();
      queues.set(queue, s);
    }
    return s;
  }

  const capabilities: BackendCapabilities = {
    persistence: false,
    multiProcess: false,
    crossProcessEvents: false,
    clustering: false,
    wakeups: true,
    transactionalEnqueue: false,
  };

  return {
    name: "memory",
    capabilities,

    enqueue(
      queue,
      jobs: readonly NewJobRecord[],
      { now },
    ): Promise<EnqueueOutcome[]> {
      const s = state(queue);
      const outcomes: EnqueueOutcome[] = [];
      const created: Rec[] = [];
      let wakeAt = Infinity;
      for (const job of jobs) {
        if (job.key !== null) {
          const holder = s.keys.get(job.key);
          if (holder !== undefined && live(s, holder, now) !== undefined) {
            outcomes.push({ id: holder, created: false });
            continue;
          }
        }
        const rec: Rec = {
          ...job,
          status: "pending",
          progress: 0,
          message: "",
          result: null,
          error: null,
          attempt: 0,
          updatedAt: job.createdAt,
          startedAt: null,
          completedAt: null,
          lease: null,
          version: 1,
          seq: ++seq,
          gen: 0,
        };
        s.jobs.set(rec.id, rec);
        if (rec.key !== null) s.keys.set(rec.key, rec.id);
        if (rec.expiresAt !== null) {
          s.expiry.push({ rec, gen: 0, at: rec.expiresAt });
        }
        schedule(s, rec, now);
        wakeAt = Math.min(wakeAt, rec.runAt);
        created.push(rec);
        outcomes.push({ id: rec.id, created: true });
      }
      for (const rec of created) publish(s, rec);
      if (created.length > 0) signal(s, { kind: "wake", at: wakeAt });
      return Promise.resolve(outcomes);
    },

    claim(
      queue,
      { types, limit, leaseMs, now }: ClaimRequest,
    ): Promise<JobRecord[]> {
      const s = state(queue);
      housekeep(s, now);
      const out: JobRecord[] = [];
      while (out.length < limit) {
        const rec = next(s, types);
        if (rec === undefined) break;
        if (rec.expiresAt !== null && rec.expiresAt <= now) {
          drop(s, rec);
          continue;
        }
        rec.status = "processing";
        rec.attempt++;
        rec.startedAt = now;
        rec.lease = { token: `${++tokens}`, until: now + leaseMs };
        rec.gen++;
        touch(rec, now);
        s.leases.push({ rec, gen: rec.gen, at: rec.lease.until });
        publish(s, rec);
        out.push(copy(rec));
      }
      return Promise.resolve(out);
    },

    heartbeat(queue, ref, { leaseMs, now }) {
      try {
        const s = state(queue);
        const rec = held(s, ref);
        rec.lease!.until = now + leaseMs;
        rec.gen++;
        s.leases.push({ rec, gen: rec.gen, at: rec.lease!.until });
        return Promise.resolve(rec.lease!.until);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    update(queue, ref, { progress, message, now }) {
      try {
        const s = state(queue);
        const rec = held(s, ref);
        if (progress !== undefined) rec.progress = progress;
        if (message !== undefined) rec.message = message;
        touch(rec, now);
        publish(s, rec);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    },

    complete(queue, ref, result, { now }) {
      try {
        const s = state(queue);
        const rec = held(s, ref);
        rec.result = result;
        finish(s, rec, "complete", now);
        publish(s, rec);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    },

    fail(queue, ref, { error, retryAt, now }) {
      try {
        const s = state(queue);
        const rec = held(s, ref);
        rec.error = error;
        if (retryAt === null) {
          finish(s, rec, "failed", now);
        } else {
          rec.status = "pending";
          rec.lease = null;
          rec.runAt = retryAt;
          touch(rec, now);
          schedule(s, rec, now);
          signal(s, { kind: "wake", at: retryAt });
        }
        publish(s, rec);
        return Promise.resolve(rec.status as "pending" | "failed");
      } catch (err) {
        return Promise.reject(err);
      }
    },

    release(queue, refs, { now }) {
      try {
        const s = state(queue);
        const ids: string[] = [];
        for (const ref of refs) {
          const rec = s.jobs.get(ref.id);
          if (
            rec === undefined || rec.status !== "processing" ||
            rec.lease?.token !== ref.token ||
            live(s, rec.id, now) === undefined
          ) continue;
          rec.status = "pending";
          rec.lease = null;
          rec.attempt--;
          touch(rec, now);
          schedule(s, rec, now);
          publish(s, rec);
          ids.push(rec.id);
        }
        if (ids.length > 0) signal(s, { kind: "wake", at: now });
        return Promise.resolve(ids);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    cancel(queue, id, { reason, now }) {
      try {
        const s = state(queue);
        const rec = live(s, id, now);
        if (
          rec === undefined ||
          (rec.status !== "pending" && rec.status !== "processing")
        ) {
          return Promise.resolve(false);
        }
        const wasProcessing = rec.status === "processing";
        rec.error = { name: "CancelledError", message: reason };
        finish(s, rec, "cancelled", now);
        if (wasProcessing) signal(s, { kind: "cancel", jobId: id });
        publish(s, rec);
        return Promise.resolve(true);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    retry(queue, id, { now }) {
      try {
        const s = state(queue);
        const rec = live(s, id, now);
        if (
          rec === undefined ||
          (rec.status !== "failed" && rec.status !== "cancelled")
        ) {
          return Promise.resolve(false);
        }
        Object.assign(rec, {
          status: "pending",
          attempt: 0,
          runAt: now,
          error: null,
          result: null,
          progress: 0,
          message: "",
          completedAt: null,
        });
        if (rec.key !== null) {
          const holder = s.keys.get(rec.key);
          if (holder === undefined || live(s, holder, now) === undefined) {
            s.keys.set(rec.key, rec.id);
          }
        }
        touch(rec, now);
        schedule(s, rec, now);
        publish(s, rec);
        signal(s, { kind: "wake", at: now });
        return Promise.resolve(true);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    remove(queue, id, { now }) {
      try {
        const s = state(queue);
        const rec = live(s, id, now);
        if (rec === undefined) return Promise.resolve(false);
        const wasProcessing = rec.status === "processing";
        drop(s, rec);
        if (wasProcessing) signal(s, { kind: "cancel", jobId: id });
        return Promise.resolve(true);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    get(queue, id, { now }) {
      try {
        const rec = live(state(queue), id, now);
        return Promise.resolve(rec === undefined ? null : copy(rec));
      } catch (err) {
        return Promise.reject(err);
      }
    },

    list(queue, { status, type, limit, after, now }: ListRequest) {
      try {
        const s = state(queue);
        const out: JobRecord[] = [];
        for (const rec of [...s.jobs.values()]) {
          if (out.length >= limit) break;
          if (after !== null && rec.id <= after) continue;
          if (status !== null && rec.status !== status) continue;
          if (type !== null && rec.type !== type) continue;
          if (live(s, rec.id, now) === undefined) continue;
          out.push(copy(rec));
        }
        return Promise.resolve(out);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    stats(queue, { now }): Promise<QueueStats> {
      try {
        const s = state(queue);
        housekeep(s, now);
        const stats: QueueStats = { ...emptyCounts(), byType: {} };
        for (const rec of s.jobs.values()) {
          if (rec.expiresAt !== null && rec.expiresAt <= now) continue;
          stats[rec.status]++;
          (stats.byType[rec.type] ??= emptyCounts())[rec.status]++;
        }
        return Promise.resolve(stats);
      } catch (err) {
        return Promise.reject(err);
      }
    },

    listen(queue, topic: Topic, listener) {
      try {
        const s = state(queue);
        let set: Set<Listener>;
        if (topic === "queue") set = s.queueListeners;
        else if (topic === "worker") set = s.workerListeners;
        else {
          let forJob = s.jobListeners.get(topic.job);
          if (forJob === undefined) {
            s.jobListeners.set(topic.job, forJob = new Set());
          }
          set = forJob;
        }
        // Wrap so that the same function may listen twice and stop once each.
        const own: Listener = (event) => listener(event);
        set.add(own);
        return Promise.resolve(() => {
          set.delete(own);
          if (typeof topic === "object" && set.size === 0) {
            s.jobListeners.delete(topic.job);
          }
          return Promise.resolve();
        });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    close() {
      closed = true;
      queues.clear();
      return Promise.resolve();
    },
  };
}
