/**
 * createQueue: the producer and consumer API over one backend, as a facade.
 * Each call checks its arguments (src/validate.ts, src/queue_options.ts),
 * applies the rules (ids and defaults, backoff, JSON encoding) and makes one
 * call through the backend handle (src/queue_handle.ts: lazy loading,
 * ownership, close, error wrapping). It must never hold storage nor import
 * a backend module or a driver.
 *
 * @module
 */

import type {
  BackendEvent,
  JobRecord,
  NewJobRecord,
  Topic,
} from "./backend/interface.ts";
import { decodeClaimed, decodeJob, decodeUpdate } from "./codec.ts";
import { prepareJob } from "./enqueue.ts";
import { enqueueHandingOff, type Taker } from "./handoff.ts";
import { type Context, keepContext } from "./queue_context.ts";
import { toJobError } from "./job_error.ts";
import { createBackendHandle } from "./queue_handle.ts";
import { checkQueueOptions } from "./queue_options.ts";
import type {
  ClaimOptions,
  EnqueueItem,
  JobOf,
  JobTypes,
  ListOptions,
  ListPage,
  Queue,
  QueueEvent,
  QueueOptions,
} from "./queue_types.ts";
import type { ClaimedJob, Lease, QueueStats } from "./types.ts";
import {
  checkChange,
  checkClaimed,
  checkId,
  checkLeaseMs,
  checkListOptions,
  checkNumber,
  checkString,
  checkTypes,
  encodeJson,
  invalid,
} from "./validate.ts";
import { waitForJob } from "./wait_for.ts";
import { controlCalls } from "./queue_control.ts";
import { scheduleCalls } from "./schedule.ts";
import { flowCalls } from "./flows.ts";
import { limitCalls } from "./limits.ts";

/**
 * Makes a queue. With no argument it runs on the embedded memory backend;
 * a URL picks a backend (`memory://`, `sqlite:...`, `redis://`, `rediss://`,
 * `redis+cluster://`, `postgres://`), loaded on first use; or pass
 * `{ backend }`. Synchronous: connections open lazily, and a connection
 * failure rejects the first operation that needs it with a BackendError.
 *
 * @typeParam J A map from job type to its data type, for typed enqueue and
 *   handlers.
 * @typeParam Tx The transaction type that `enqueue({ tx })` accepts: inferred
 *   from a `backend` that has one (PostgreSQL), `never` otherwise. With a
 *   `postgres://` URL, name it: `createQueue<Jobs, PostgresTransaction>(url)`.
 *
 * @example Enqueue, claim, complete
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 *
 * type Jobs = { resize: { url: string } };
 * await using queue = createQueue<Jobs>({ name: "images" });
 * const id = await queue.enqueue("resize", { url: "a.png" }, { priority: "high" });
 * const job = await queue.claim();
 * await queue.complete(job!, { width: 640 });
 * console.log((await queue.get(id))?.status); // "complete"
 * ```
 *
 * @param target A backend URL, or the options.
 * @param options The options, when the first argument is a URL.
 * @returns The queue.
 */
export function createQueue<J extends JobTypes = JobTypes, Tx = never>(
  target?: string | QueueOptions<Tx>,
  options?: QueueOptions<Tx>,
): Queue<J, Tx> {
  const settings = checkQueueOptions(target, options);
  // The backend: given (its owner's to close), or made from a URL on first
  // use (and then the queue's to close).
  const handle = createBackendHandle<Tx>(
    settings.name,
    settings.backend !== undefined
      ? { backend: settings.backend }
      : { url: typeof target === "string" ? target : "memory:" },
  );
  const takers = new Set<Taker>();
  const c: Context<Tx> = { ...settings, handle, takers };
  const queue: Queue<J, Tx> = {
    name: c.name,
    leaseMs: c.leaseMs,
    get closed() {
      return handle.closed;
    },
    ...enqueueCalls<J, Tx>(c),
    ...jobCalls<J, Tx>(c),
    ...claimCalls<J, Tx>(c),
    ...leaseCalls<J, Tx>(c),
    ...controlCalls(c),
    ...scheduleCalls(c),
    ...flowCalls(c),
    ...limitCalls(c),
    waitFor: (id, options) => waitForJob(queue as Queue<J>, id, options),
    listen: (topic, listener) => listen(c, topic, listener),
    now: c.clock,
    close: () => handle.close(),
    [Symbol.asyncDispose]() {
      return queue.close();
    },
  };
  keepContext(queue, c as Context<unknown>);
  return queue;
}

/** The producer's calls: enqueue one job or a batch. */
function enqueueCalls<J extends JobTypes, Tx>(
  c: Context<Tx>,
): Pick<Queue<J, Tx>, "enqueue" | "enqueueMany"> {
  const { name, clock, handle, takers } = c;
  /**
   * Stores a batch: in the caller's transaction, or handing the new jobs to
   * an idle worker made on this queue object where the backend can
   * (handoff.ts; with `handOff: false` no worker offers to take them).
   */
  const store = (
    records: readonly NewJobRecord[],
    options: { tx?: Tx } | undefined,
    now: number,
  ) =>
    handle.call(
      "enqueue",
      (b) =>
        options?.tx !== undefined
          ? b.enqueue(name, records, { now, tx: options.tx })
          : enqueueHandingOff(b, name, records, now, takers),
    );
  return {
    async enqueue(type, data, options) {
      const now = clock();
      const record = prepareJob(type, data, options, now, c.defaults);
      const [outcome] = await store([record], options, now);
      return outcome!.id;
    },
    async enqueueMany(items, options) {
      if (!Array.isArray(items)) {
        throw invalid("enqueue jobs", "items", "an array", items);
      }
      if (items.length === 0) return [];
      const now = clock();
      const records = items.map((item: EnqueueItem<J>, i) => {
        if (item === null || typeof item !== "object") {
          throw invalid("enqueue jobs", `items[${i}]`, "an object", item);
        }
        return prepareJob(item.type, item.data, item.options, now, c.defaults);
      });
      const outcomes = await store(records, options, now);
      return outcomes.map((o) => o.id);
    },
  };
}

/** The calls on jobs by id, and on the queue's jobs as a whole. */
function jobCalls<J extends JobTypes, Tx>(
  c: Context<Tx>,
): Pick<
  Queue<J, Tx>,
  "get" | "cancel" | "retry" | "remove" | "stats" | "list"
> {
  const { name, clock, handle } = c;
  return {
    async get(id) {
      checkId(id, "get job");
      const record = await handle.call(
        "get",
        (b) => b.get(name, id, { now: clock() }),
      );
      return record === null ? null : decodeJob(record) as JobOf<J>;
    },
    async cancel(id, reason = "cancelled") {
      checkId(id, "cancel job");
      checkString(reason, "cancel job", "reason", 1024);
      return await handle.call(
        "cancel",
        (b) => b.cancel(name, id, { reason, now: clock() }),
      );
    },
    async retry(id) {
      checkId(id, "retry job");
      return await handle.call(
        "retry",
        (b) => b.retry(name, id, { now: clock() }),
      );
    },
    async remove(id) {
      checkId(id, "remove job");
      return await handle.call(
        "remove",
        (b) => b.remove(name, id, { now: clock() }),
      );
    },
    async stats(): Promise<QueueStats> {
      return await handle.call("stats", (b) => b.stats(name, { now: clock() }));
    },
    async list(options: ListOptions = {}): Promise<ListPage<J>> {
      const request = checkListOptions(options);
      const records = await handle.call(
        "list",
        (b) => b.list(name, { ...request, now: clock() }),
      );
      const jobs = records.map((r) => decodeJob(r) as JobOf<J>);
      return {
        jobs,
        cursor: jobs.length === request.limit
          ? jobs[jobs.length - 1]!.id
          : null,
      };
    },
  };
}

/** The claimer's calls: claim one job or a batch. */
function claimCalls<J extends JobTypes, Tx>(
  c: Context<Tx>,
): Pick<Queue<J, Tx>, "claim" | "claimMany"> {
  const { name, clock, handle } = c;
  type Claimed = JobOf<J> & ClaimedJob;
  /**
   * The backend's claim of up to `limit` jobs, checked; not async, so that
   * claim() reaches the backend without an await (the hottest call).
   */
  function records(
    limit: number,
    options: ClaimOptions,
  ): Promise<JobRecord[]> {
    const act = "claim jobs";
    let types: readonly string[] | null, leaseMs: number;
    try {
      checkNumber(limit, act, "limit", { min: 1, integer: true, max: 10_000 });
      types = checkTypes(options.types, act);
      leaseMs = checkLeaseMs(options.leaseMs, act, c.leaseMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return handle.call(
      "claim",
      (b) => b.claim(name, { types, limit, leaseMs, now: clock() }),
    );
  }
  return {
    claim: (options = {}) =>
      records(1, options).then((r) =>
        r.length === 0 ? null : decodeClaimed(r[0]!) as Claimed
      ),
    claimMany: async (limit, options = {}) =>
      (await records(limit, options)).map((r) => decodeClaimed(r) as Claimed),
  };
}

/** The calls on a claimed job's lease: progress, outcome, release, heartbeat. */
function leaseCalls<J extends JobTypes, Tx>(
  c: Context<Tx>,
): Pick<
  Queue<J, Tx>,
  "update" | "complete" | "fail" | "release" | "heartbeat"
> {
  const { name, clock, handle } = c;
  return {
    async update(job, change) {
      const ref = checkClaimed(job, "update job");
      const ch = { now: clock(), ...checkChange(change) };
      await handle.call("update", (b) => b.update(name, ref, ch));
    },
    complete(job, result = null) {
      // Not async: one await fewer on the hottest call, the same errors.
      let ref: { id: string; token: string }, text: string;
      try {
        ref = checkClaimed(job, "complete job");
        text = encodeJson(
          result === undefined ? null : result,
          "complete job",
          "result",
          c.maxPayloadBytes,
        );
      } catch (err) {
        return Promise.reject(err);
      }
      return handle.call(
        "complete",
        (b) => b.complete(name, ref, text, { now: clock() }),
      );
    },
    async fail(job, error, options = {}) {
      const ref = checkClaimed(job, "fail job");
      const jobError = toJobError(error);
      const now = clock();
      const retry = options.retry !== false && job.attempt < job.maxAttempts;
      const retryAt = retry ? now + c.backoff(job.attempt, jobError) : null;
      return await handle.call(
        "fail",
        (b) => b.fail(name, ref, { error: jobError, retryAt, now }),
      );
    },
    async release(jobs, options = {}) {
      const list: readonly ClaimedJob[] = Array.isArray(jobs) ? jobs : [jobs];
      const refs = list.map((job) => checkClaimed(job, "release jobs"));
      const { delay } = options;
      if (delay !== undefined) checkNumber(delay, "release jobs", "delay");
      if (refs.length === 0) return 0;
      const now = clock();
      const at = delay === undefined ? {} : { runAt: now + delay };
      const ids = await handle.call(
        "release",
        (b) => b.release(name, refs, { now, ...at }),
      );
      return ids.length;
    },
    async heartbeat(job, options = {}) {
      const ref = checkClaimed(job, "heartbeat job");
      const leaseMs = checkLeaseMs(options.leaseMs, "heartbeat job", c.leaseMs);
      const until = await handle.call(
        "heartbeat",
        (b) => b.heartbeat(name, ref, { leaseMs, now: clock() }),
      );
      job.lease.until = until;
      return { token: ref.token, until } satisfies Lease;
    },
  };
}

/** Queue.listen: the backend's events, updates decoded, until stopped or closed. */
async function listen<Tx>(
  c: Context<Tx>,
  topic: Topic,
  listener: (event: QueueEvent) => void,
): Promise<() => Promise<void>> {
  const forward = (event: BackendEvent) => {
    try {
      listener(
        event.kind === "update"
          ? { kind: "update", update: decodeUpdate(event.update) }
          : event,
      );
    } catch (err) {
      // A listener's failure must not break delivery, nor crash the process.
      console.error("jobline: an update listener threw", err);
    }
  };
  return await c.handle.listen(
    topic,
    forward,
    () => listener({ kind: "closed" }),
  );
}
