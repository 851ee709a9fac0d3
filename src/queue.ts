/**
 * createQueue: the producer and consumer API over one backend. Holds the
 * rules (validation, defaults, ids, backoff, JSON encoding) and never the
 * storage; it must not import a database driver.
 *
 * @module
 */

import type { Backend, BackendEvent, Topic } from "./backend/interface.ts";
import {
  type BackoffFn,
  backoffFunction,
  type BackoffOptions,
} from "./backoff.ts";
import { decodeClaimed, decodeJob, decodeUpdate } from "./codec.ts";
import { QueueClosedError, toBackendError, ValidationError } from "./errors.ts";
import { type JobDefaults, prepareJob } from "./enqueue.ts";
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
import type { ClaimedJob, JobStatus, Lease, QueueStats } from "./types.ts";
import { backendLoader } from "./schemes.ts";
import {
  checkName,
  checkNumber,
  checkProgress,
  checkStatus,
  checkString,
  encodeJson,
  invalid,
  toJobError,
} from "./validate.ts";

const MiB = 1024 * 1024;

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
  const opts: QueueOptions<Tx> =
    typeof target === "string" || target === undefined
      ? { ...options }
      : { ...target, ...options };
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
    checkNumber(opts.defaultTtl, action, "defaultTtl", {
      min: 0,
      exclusive: true,
    });
  }
  if (typeof clock !== "function") {
    throw invalid(action, "clock", "a function", clock);
  }
  const defaults: JobDefaults = {
    maxAttempts,
    maxPayloadBytes,
    defaultTtl: opts.defaultTtl,
  };
  const backoff: BackoffFn = backoffFunction(
    opts.backoff as BackoffOptions | undefined,
  );

  // The backend: given, or made from a URL on first use (and then ours to close).
  let backend: Backend<Tx> | undefined = opts.backend;
  let loading: Promise<Backend<Tx>> | undefined;
  const owned = opts.backend === undefined;
  // A URL's backend has the Tx its caller declared: the scheme table cannot
  // know it, and the backend checks a `tx` it is given at run time.
  const load = backendLoader(
    typeof target === "string" ? target : "memory:",
  ) as () => Promise<Backend<Tx>>;
  if (
    backend !== undefined &&
    (typeof backend !== "object" || typeof backend.claim !== "function")
  ) {
    throw invalid(action, "backend", "a Backend object", backend);
  }

  let closed = false;
  const closers = new Set<() => void>();

  function open(): Promise<Backend<Tx>> {
    if (closed) {
      return Promise.reject(
        new QueueClosedError(`Cannot use queue '${name}' as it is closed`),
      );
    }
    if (backend !== undefined) return Promise.resolve(backend);
    loading ??= load().then((b) => (backend = b), (err) => {
      loading = undefined;
      throw err;
    });
    return loading;
  }

  async function call<T>(
    what: string,
    run: (b: Backend<Tx>) => Promise<T>,
  ): Promise<T> {
    const b = backend !== undefined && !closed ? backend : await open();
    try {
      return await run(b);
    } catch (err) {
      throw toBackendError(err, `${b.name} ${what}`);
    }
  }

  function checkLeaseMs(value: number | undefined, act: string): number {
    return value === undefined
      ? leaseMs
      : checkNumber(value, act, "leaseMs", { min: 0, exclusive: true });
  }

  function checkClaimed(
    job: ClaimedJob,
    act: string,
  ): { id: string; token: string } {
    if (
      job === null || typeof job !== "object" || typeof job.id !== "string" ||
      typeof job.lease?.token !== "string"
    ) {
      throw invalid(act, "job", "a job returned by claim()", job);
    }
    return { id: job.id, token: job.lease.token };
  }

  function checkId(id: unknown, act: string): string {
    return checkString(id, act, "id", 256, 1);
  }

  function checkTypes(types: unknown, act: string): readonly string[] | null {
    if (types === undefined || types === null) return null;
    if (!Array.isArray(types) || types.length === 0) {
      throw invalid(act, "types", "a non-empty array of job types", types);
    }
    for (const t of types) checkName(t, act, "types");
    return types;
  }

  type Claimed = JobOf<J> & ClaimedJob;
  async function claimMany(
    limit: number,
    options: ClaimOptions = {},
  ): Promise<Claimed[]> {
    const act = "claim jobs";
    checkNumber(limit, act, "limit", { min: 1, integer: true, max: 10_000 });
    const types = checkTypes(options.types, act);
    const lease = checkLeaseMs(options.leaseMs, act);
    const records = await call(
      "claim",
      (b) => b.claim(name, { types, limit, leaseMs: lease, now: clock() }),
    );
    return records.map((r) => decodeClaimed(r) as Claimed);
  }

  const queue: Queue<J, Tx> = {
    name,
    leaseMs,
    get closed() {
      return closed;
    },

    async enqueue(type, data, options) {
      const now = clock();
      const record = prepareJob(type, data, options, now, defaults);
      const [outcome] = await call(
        "enqueue",
        (b) => b.enqueue(name, [record], withTx(options, now)),
      );
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
        return prepareJob(item.type, item.data, item.options, now, defaults);
      });
      const outcomes = await call(
        "enqueue",
        (b) => b.enqueue(name, records, withTx(options, now)),
      );
      return outcomes.map((o) => o.id);
    },

    async get(id) {
      checkId(id, "get job");
      const record = await call(
        "get",
        (b) => b.get(name, id, { now: clock() }),
      );
      return record === null ? null : decodeJob(record) as JobOf<J>;
    },

    async cancel(id, reason = "cancelled") {
      checkId(id, "cancel job");
      checkString(reason, "cancel job", "reason", 1024);
      return await call(
        "cancel",
        (b) => b.cancel(name, id, { reason, now: clock() }),
      );
    },

    async claim(options) {
      const [job] = await claimMany(1, options);
      return job ?? null;
    },

    claimMany,

    async update(job, change) {
      const ref = checkClaimed(job, "update job");
      if (change === null || typeof change !== "object") {
        throw invalid("update job", "change", "an object", change);
      }
      const c: { progress?: number; message?: string; now: number } = {
        now: clock(),
      };
      if (change.progress !== undefined) {
        c.progress = checkProgress(change.progress);
      }
      if (change.message !== undefined) {
        c.message = checkString(change.message, "update job", "message", 4096);
      }
      await call("update", (b) => b.update(name, ref, c));
    },

    async complete(job, result = null) {
      const ref = checkClaimed(job, "complete job");
      const text = encodeJson(
        result === undefined ? null : result,
        "complete job",
        "result",
        maxPayloadBytes,
      );
      await call(
        "complete",
        (b) => b.complete(name, ref, text, { now: clock() }),
      );
    },

    async fail(job, error, options = {}) {
      const ref = checkClaimed(job, "fail job");
      const jobError = toJobError(error);
      const now = clock();
      const retry = options.retry !== false && job.attempt < job.maxAttempts;
      const retryAt = retry ? now + backoff(job.attempt, jobError) : null;
      return await call(
        "fail",
        (b) => b.fail(name, ref, { error: jobError, retryAt, now }),
      );
    },

    async release(jobs) {
      const list: readonly ClaimedJob[] = Array.isArray(jobs) ? jobs : [jobs];
      const refs = list.map((job) => checkClaimed(job, "release jobs"));
      if (refs.length === 0) return 0;
      const ids = await call(
        "release",
        (b) => b.release(name, refs, { now: clock() }),
      );
      return ids.length;
    },

    async heartbeat(job, options = {}) {
      const ref = checkClaimed(job, "heartbeat job");
      const ms = checkLeaseMs(options.leaseMs, "heartbeat job");
      const until = await call(
        "heartbeat",
        (b) => b.heartbeat(name, ref, { leaseMs: ms, now: clock() }),
      );
      job.lease.until = until;
      return { token: ref.token, until } satisfies Lease;
    },

    async retry(id) {
      checkId(id, "retry job");
      return await call("retry", (b) => b.retry(name, id, { now: clock() }));
    },

    async remove(id) {
      checkId(id, "remove job");
      return await call("remove", (b) => b.remove(name, id, { now: clock() }));
    },

    async stats(): Promise<QueueStats> {
      return await call("stats", (b) => b.stats(name, { now: clock() }));
    },

    async list(options: ListOptions = {}): Promise<ListPage<J>> {
      const act = "list jobs";
      const limit = options.limit ?? 100;
      checkNumber(limit, act, "limit", { min: 1, integer: true, max: 10_000 });
      const status: JobStatus | null = options.status === undefined
        ? null
        : checkStatus(options.status, act);
      const type = options.type === undefined
        ? null
        : checkName(options.type, act, "type");
      const after = options.cursor === undefined || options.cursor === null
        ? null
        : checkString(options.cursor, act, "cursor", 256, 1);
      const records = await call(
        "list",
        (b) => b.list(name, { status, type, limit, after, now: clock() }),
      );
      const jobs = records.map((r) => decodeJob(r) as JobOf<J>);
      return {
        jobs,
        cursor: jobs.length === limit ? jobs[jobs.length - 1]!.id : null,
      };
    },

    async listen(topic: Topic, listener: (event: QueueEvent) => void) {
      const b = await open();
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
      let stop: () => Promise<void>;
      try {
        stop = await b.listen(name, topic, forward);
      } catch (err) {
        throw toBackendError(err, `${b.name} listen`);
      }
      let stopped = false;
      const close = async () => {
        if (stopped) return;
        stopped = true;
        closers.delete(onClose);
        await stop().catch(() => {});
      };
      const onClose = () => {
        listener({ kind: "closed" });
        void close();
      };
      closers.add(onClose);
      return close;
    },

    now: clock,

    async close() {
      if (closed) return;
      closed = true;
      for (const onClose of [...closers]) onClose();
      const b = backend ??
        (loading ? await loading.catch(() => undefined) : undefined);
      if (owned && b !== undefined) await b.close();
    },

    [Symbol.asyncDispose]() {
      return queue.close();
    },
  };
  return queue;
}

function withTx<Tx>(
  options: { tx?: Tx } | undefined,
  now: number,
): { now: number; tx?: Tx } {
  const out: { now: number; tx?: Tx } = { now };
  if (options?.tx !== undefined) out.tx = options.tx;
  return out;
}
