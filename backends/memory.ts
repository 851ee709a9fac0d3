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
  BackendEvent,
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  Topic,
} from "../src/backend.ts";
import { updateRecordOf } from "../src/codec.ts";
import { BackendError, LeaseLostError } from "../src/errors.ts";
import type {
  BackendCapabilities,
  JobError,
  QueueStats,
  StatusCounts,
} from "../src/types.ts";
import { Heap } from "./_heap.ts";

interface Rec extends JobRecord {
  seq: number;
  /** Bumped whenever the job leaves a heap's state, so stale entries are skipped. */
  gen: number;
}

interface Entry {
  rec: Rec;
  gen: number;
  at: number;
}

type Listener = (event: BackendEvent) => void;

interface State {
  jobs: Map<string, Rec>;
  ready: Map<string, Heap<Rec>>;
  delayed: Heap<Entry>;
  leases: Heap<Entry>;
  expiry: Heap<Entry>;
  keys: Map<string, string>;
  queueListeners: Set<Listener>;
  jobListeners: Map<string, Set<Listener>>;
  workerListeners: Set<Listener>;
}

const byPriority = (a: Rec, b: Rec): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
const byTime = (a: Entry, b: Entry): boolean => a.at < b.at;

function emptyCounts(): StatusCounts {
  return { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 };
}

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
      s = {
        jobs: new Map(),
        ready: new Map(),
        delayed: new Heap(byTime),
        leases: new Heap(byTime),
        expiry: new Heap(byTime),
        keys: new Map(),
        queueListeners: new Set(),
        jobListeners: new Map(),
        workerListeners: new Set(),
      };
      queues.set(queue, s);
    }
    return s;
  }

  function deliver(listeners: Iterable<Listener>, event: BackendEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        console.error("jobline: a memory backend listener threw", err);
      }
    }
  }

  function publish(s: State, rec: Rec): void {
    const forJob = s.jobListeners.get(rec.id);
    if (s.queueListeners.size === 0 && forJob === undefined) return;
    const event: BackendEvent = { kind: "update", update: updateRecordOf(rec) };
    deliver(s.queueListeners, event);
    if (forJob !== undefined) deliver(forJob, event);
  }

  function signal(s: State, event: BackendEvent): void {
    if (s.workerListeners.size > 0) deliver(s.workerListeners, event);
  }

  function live(s: State, id: string, now: number): Rec | undefined {
    const rec = s.jobs.get(id);
    if (rec === undefined) return undefined;
    if (rec.expiresAt !== null && rec.expiresAt <= now) {
      drop(s, rec);
      return undefined;
    }
    return rec;
  }

  function drop(s: State, rec: Rec): void {
    s.jobs.delete(rec.id);
    rec.gen++;
    releaseKey(s, rec);
  }

  function releaseKey(s: State, rec: Rec): void {
    if (rec.key !== null && s.keys.get(rec.key) === rec.id) {
      s.keys.delete(rec.key);
    }
  }

  function touch(rec: Rec, now: number): void {
    rec.version++;
    rec.updatedAt = now;
  }

  /** Puts a pending job where a claim will find it. */
  function schedule(s: State, rec: Rec, now: number): void {
    rec.gen++;
    if (rec.runAt > now) {
      s.delayed.push({ rec, gen: rec.gen, at: rec.runAt });
      return;
    }
    let heap = s.ready.get(rec.type);
    if (heap === undefined) s.ready.set(rec.type, heap = new Heap(byPriority));
    heap.push(rec);
  }

  function finish(
    s: State,
    rec: Rec,
    status: "complete" | "failed" | "cancelled",
    now: number,
  ): void {
    rec.status = status;
    rec.lease = null;
    rec.completedAt = now;
    rec.gen++;
    releaseKey(s, rec);
    touch(rec, now);
  }

  function housekeep(s: State, now: number): void {
    for (
      let e = s.expiry.peek();
      e !== undefined && e.at <= now;
      e = s.expiry.peek()
    ) {
      s.expiry.pop();
      if (s.jobs.get(e.rec.id) === e.rec) drop(s, e.rec);
    }
    for (
      let e = s.leases.peek();
      e !== undefined && e.at <= now;
      e = s.leases.peek()
    ) {
      s.leases.pop();
      const rec = e.rec;
      if (
        rec.gen !== e.gen || rec.status !== "processing" ||
        rec.lease === null || rec.lease.until > now
      ) continue;
      const error: JobError = {
        name: "LeaseExpiredError",
        message: "lease expired",
      };
      rec.error = error;
      if (rec.attempt < rec.maxAttempts) {
        rec.status = "pending";
        rec.lease = null;
        rec.runAt = now;
        touch(rec, now);
        schedule(s, rec, now);
      } else {
        finish(s, rec, "failed", now);
      }
      signal(s, { kind: "cancel", jobId: rec.id });
      publish(s, rec);
    }
    for (
      let e = s.delayed.peek();
      e !== undefined && e.at <= now;
      e = s.delayed.peek()
    ) {
      s.delayed.pop();
      if (e.rec.gen === e.gen && e.rec.status === "pending") {
        schedule(s, e.rec, now);
      }
    }
  }

  /** The best due job of the given types, popped from its heap. */
  function next(s: State, types: readonly string[] | null): Rec | undefined {
    let bestHeap: Heap<Rec> | undefined;
    let best: Rec | undefined;
    const heaps = types === null
      ? s.ready.values()
      : types.map((t) => s.ready.get(t));
    for (const heap of heaps) {
      if (heap === undefined) continue;
      let top = heap.peek();
      while (
        top !== undefined &&
        (top.status !== "pending" || s.jobs.get(top.id) !== top)
      ) {
        heap.pop();
        top = heap.peek();
      }
      if (top !== undefined && (best === undefined || byPriority(top, best))) {
        best = top;
        bestHeap = heap;
      }
    }
    bestHeap?.pop();
    return best;
  }

  function held(s: State, ref: LeaseRef): Rec {
    const rec = s.jobs.get(ref.id);
    if (
      rec === undefined || rec.status !== "processing" ||
      rec.lease?.token !== ref.token
    ) {
      throw new LeaseLostError(ref.id);
    }
    return rec;
  }

  /** A copy the caller may keep: explicit fields are much faster than a rest spread. */
  function copy(rec: Rec): JobRecord {
    return {
      id: rec.id,
      type: rec.type,
      data: rec.data,
      priority: rec.priority,
      maxAttempts: rec.maxAttempts,
      runAt: rec.runAt,
      createdAt: rec.createdAt,
      ttl: rec.ttl,
      expiresAt: rec.expiresAt,
      key: rec.key,
      metadata: rec.metadata,
      status: rec.status,
      progress: rec.progress,
      message: rec.message,
      result: rec.result,
      error: rec.error === null ? null : { ...rec.error },
      attempt: rec.attempt,
      updatedAt: rec.updatedAt,
      startedAt: rec.startedAt,
      completedAt: rec.completedAt,
      lease: rec.lease === null
        ? null
        : { token: rec.lease.token, until: rec.lease.until },
      version: rec.version,
    };
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
