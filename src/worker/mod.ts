/**
 * createWorker and its claim loop: claims jobs of the handlers' types as
 * slots free up, wakes on the backend's events, pauses with growing backoff
 * after a failed backend call, and pauses and resumes when told. The parts
 * hold their own state: the claim sizing and pace (ahead.ts), the leases
 * (leases.ts), one job's run (run.ts), the slots (slots.ts), the wake-ups
 * (wake.ts), the events (events.ts), the stop and signals (shutdown.ts),
 * the looks for due schedules (schedules.ts), the hand-offs that
 * enqueues make to it (handoff.ts), and the pauses heard while claims are
 * under way (pauses.ts);
 * options.ts checks the options. Nothing it does in the background may
 * become an unhandled rejection.
 *
 * @module
 */

import { QueueClosedError } from "../errors.ts";
import { offerToTake } from "../queue_context.ts";
import type { JobTypes, Queue, QueueEvent } from "../queue_types.ts";
import type { ClaimedJob } from "../types.ts";
import { checkNumber } from "../validate.ts";
import { claimSize, createPace, type Pace } from "./ahead.ts";
import { createWorkerEvents, type WorkerEventHub } from "./events.ts";
import { createLeaseKeeper, type LeaseKeeper, type Running } from "./leases.ts";
import { checkWorkerOptions, type WorkerSettings } from "./options.ts";
import { abandonJob, runJob, type RunOptions } from "./run.ts";
import { createPauseLog, type PauseLog } from "./pauses.ts";
import { giveBack, stopOnSignals, stopWorker } from "./shutdown.ts";
import { startScheduleTimer } from "./schedules.ts";
import { createSlots, type Slots } from "./slots.ts";
import type { Handler, Handlers, Worker, WorkerOptions } from "./types.ts";
import { createWakeups, type Wakeups } from "./wake.ts";
import { handOff } from "./handoff.ts";

/** The queue calls a worker makes. */
type WorkerQueue = Pick<
  Queue,
  | "claimMany"
  | "heartbeat"
  | "update"
  | "complete"
  | "fail"
  | "release"
  | "listen"
  | "now"
  | "closed"
  | "runSchedules"
>;

/** One worker: its parts, and the claim loop's own state. */
interface Core {
  readonly queue: WorkerQueue;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly settings: WorkerSettings;
  readonly events: WorkerEventHub;
  readonly pace: Pace;
  readonly slots: Slots;
  readonly leases: LeaseKeeper;
  readonly wakeups: Wakeups;
  /** stop() was called: no claim and no start from now on. */
  stopping: boolean;
  /** pause() was called and resume() not since: no claim and no start. */
  paused: boolean;
  /** The queue closed under the worker: the loop ends. */
  closedUnder: boolean;
  /** Claim calls (and hand-offs) under way, and the jobs they ask for. */
  claims: number;
  claimingFor: number;
  /** The "paused" events heard, for the claims under way (pauses.ts). */
  readonly pauses: PauseLog;
  /** The last claim came back full: there may be more. */
  maybeMore: boolean;
  /** Backend calls failed in a row, and claiming paused until (performance.now()). */
  failures: number;
  pausedUntil: number;
  /** Ends the worker's listening for wake-ups and cancels, once started. */
  unlisten: (() => Promise<void>) | undefined;
  /** Claims and hand-offs under way: the loop ends after them. */
  inFlight: Set<Promise<void>>;
  /** What running a job needs: one object for every job of the worker. */
  run: RunOptions;
  /** The job's outcome is stored (or it was lost): see settle(). */
  settle(job: ClaimedJob): void;
  /** Gives up on a running handler: its attempt fails with `reason`. */
  abandon(entry: Running, reason: unknown): void;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts a worker: it claims jobs of the handlers' types and runs up to
 * `concurrency` handlers at once. A return value completes the job, a throw
 * fails the attempt (retried with backoff while attempts remain).
 *
 * @example A typed worker
 * ```ts
 * import { createQueue, createWorker, subscribe } from "@jobline/jobline";
 * type Jobs = { resize: { url: string } };
 * await using queue = createQueue<Jobs>();
 * await using _worker = createWorker(queue, {
 *   resize: async (job, ctx) => {
 *     await ctx.progress(0.5, `fetching ${job.data.url}`);
 *     return { width: 640 };
 *   },
 * }, { concurrency: 10 });
 * const id = await queue.enqueue("resize", { url: "a.png" });
 * for await (const u of subscribe(queue, id)) console.log(u.status);
 * ```
 *
 * @param queue The queue to work on.
 * @param handlers A handler per job type.
 * @param options Concurrency, lease, polling.
 * @returns The worker, already running.
 */
export function createWorker<J extends JobTypes>(
  queue: Queue<J>,
  handlers: Handlers<J>,
  options: WorkerOptions = {},
): Worker {
  const settings = checkWorkerOptions(queue.leaseMs, handlers, options);
  const events = createWorkerEvents(options.onError);
  const w = createCore(
    queue,
    handlers as Record<string, Handler>,
    settings,
    events,
  );
  const looping = loop(w);
  const stopSchedules = startScheduleTimer({
    queue,
    pollInterval: settings.pollInterval,
    active: () => !w.stopping && !w.paused && !w.closedUnder,
    report: events.report,
  });
  let stopped: Promise<void> | undefined;
  let unhookSignals = () => {};
  const worker: Worker = {
    get running() {
      return w.slots.busy;
    },
    get prefetched() {
      return w.slots.waiting;
    },
    get stopped() {
      return w.stopping;
    },
    get paused() {
      return w.paused;
    },
    on: events.on,
    pause: () => pauseWorker(w),
    resume: () => resumeWorker(w),
    stop({ timeout = 10_000 } = {}) {
      checkNumber(timeout, "stop worker", "timeout");
      unhookSignals();
      stopSchedules();
      stopped ??= stopWorker(w, looping, timeout);
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return worker.stop();
    },
  };
  if (settings.handleSignals !== undefined) {
    unhookSignals = stopOnSignals(
      worker,
      settings.handleSignals,
      events.report,
    );
  }
  return worker;
}

/** The worker's state and parts, before its loop starts. */
function createCore(
  queue: WorkerQueue,
  handlers: Readonly<Record<string, Handler>>,
  settings: WorkerSettings,
  events: WorkerEventHub,
): Core {
  const w: Core = {
    queue,
    handlers,
    settings,
    events,
    pace: createPace(),
    slots: createSlots(settings.concurrency),
    leases: createLeaseKeeper({
      queue,
      leaseMs: settings.leaseMs,
      heartbeatInterval: settings.heartbeatInterval,
      report: events.report,
      // A job lost before it started is dropped from the line; a running
      // one is given up on, as past its timeout: its slot frees at once,
      // even if its handler ignores its signal and never settles.
      // (One neither waiting nor started is being given back.)
      onLost: (entry) => {
        if (w.slots.drop(entry)) settle(w, entry.job);
        else if (entry.started) {
          w.abandon(entry, entry.controller.signal.reason);
        }
      },
    }),
    wakeups: createWakeups(() => queue.now(), settings.pollInterval),
    stopping: false,
    paused: false,
    closedUnder: false,
    claims: 0,
    pauses: createPauseLog(),
    claimingFor: 0,
    maybeMore: true,
    failures: 0,
    pausedUntil: 0,
    unlisten: undefined,
    inFlight: new Set(),
    run: undefined as unknown as RunOptions, // set just below: it needs w
    settle: (job) => settle(w, job),
    abandon: (entry, reason) => void abandonJob(entry, reason, w.run),
  };
  w.run = {
    handlers: w.handlers,
    queue,
    leaseMs: settings.leaseMs,
    freed: () => freeSlot(w),
    emit: events.emit,
    report: events.report,
    settled: (job) => settle(w, job),
    timeout: settings.timeout,
  };
  return w;
}

/** Stops claiming and starting jobs, and gives back those claimed ahead. */
function pauseWorker(w: Core): Promise<void> {
  if (w.stopping) return Promise.resolve();
  w.paused = true;
  return giveBack(w, w.slots.drain());
}

/** Claims and starts jobs again, at once. */
function resumeWorker(w: Core): void {
  if (!w.paused) return;
  w.paused = false;
  w.wakeups.wake();
}

/** How many jobs to claim now (see claimSize). */
function wanted(w: Core): number {
  return claimSize({
    concurrency: w.settings.concurrency,
    busy: w.slots.busy,
    prefetch: w.settings.prefetch,
    recent: w.pace.recent(),
    claimMs: w.pace.claimMs,
    waiting: w.slots.waiting,
    claimingFor: w.claimingFor,
    held: w.leases.size,
  });
}

/**
 * Takes claimed jobs on: they start as slots free up, best first. Jobs of a
 * claim that comes back after pause() go back at once, and so do those of
 * a queue or type paused since the claim began (`since`: the "paused"
 * events heard then).
 */
function hold(w: Core, jobs: ClaimedJob[], since: number): void {
  if (jobs.length === 0) return;
  let entries = jobs.map((job) => w.leases.hold(job));
  if (w.paused && !w.stopping) return void giveBack(w, entries);
  const paused = w.pauses.since(since);
  if (paused !== null) {
    void giveBack(w, entries.filter((entry) => paused(entry.job.type)));
    entries = entries.filter((entry) => !paused(entry.job.type));
  }
  w.slots.line(entries);
  pump(w);
}

/**
 * The queue (`type` null) or a type was paused: the jobs of it claimed and
 * not started go back, and so will those of claims under way.
 */
function queuePaused(w: Core, type: string | null): void {
  w.pauses.heard(type, w.claims > 0);
  void giveBack(
    w,
    w.slots.drain((entry) => type === null || entry.job.type === type),
  );
}

/** Starts waiting jobs while slots are free. */
function pump(w: Core): void {
  while (!w.stopping && !w.paused) {
    const entry = w.slots.take();
    if (entry === undefined) return;
    entry.started = true;
    void runJob(entry, w.run);
  }
}

/** A handler finished: its slot may take the next job. */
function freeSlot(w: Core): void {
  w.slots.free();
  w.pace.finished();
  pump(w);
  if (w.maybeMore) w.wakeups.requested = true;
  w.wakeups.poke();
}

/** The job's outcome is stored (or it was lost): its lease is no longer ours. */
function settle(w: Core, job: ClaimedJob): void {
  w.leases.settle(job);
  w.wakeups.poke();
}

/** A backend event for workers: a wake-up, a cancel, a resync or the close. */
function onEvent(w: Core, event: QueueEvent): void {
  if (event.kind === "wake") w.wakeups.heard(event.at, w.claims > 0);
  else if (event.kind === "cancel") w.leases.cancelled(event.jobId);
  else if (event.kind === "paused") queuePaused(w, event.type);
  else if (event.kind === "resync") {
    w.wakeups.wake();
    w.leases.beat();
  } else if (event.kind === "closed") w.wakeups.wake();
}

/** A backend call failed: report it and pause claiming, longer each time. */
function backOff(w: Core, err: unknown): void {
  w.events.report(err);
  w.pausedUntil = performance.now() + Math.min(5_000, 100 * 2 ** w.failures++);
}

/** Claims `want` jobs; a failure pauses claiming, with growing backoff. */
async function claim(w: Core, want: number): Promise<void> {
  w.claims++;
  w.claimingFor += want;
  const since = w.pauses.mark();
  let jobs: ClaimedJob[] = [];
  try {
    const began = performance.now();
    jobs = await w.queue.claimMany(want, {
      types: w.settings.types,
      leaseMs: w.settings.leaseMs,
    });
    w.pace.claimed(performance.now() - began);
    w.failures = 0;
  } catch (err) {
    if (err instanceof QueueClosedError || w.queue.closed) w.closedUnder = true;
    else {
      backOff(w, err);
      w.wakeups.requested = true;
    }
  } finally {
    w.claims--;
    w.claimingFor -= want;
  }
  claimed(w, want, jobs, since);
}

/**
 * A claim for `want` jobs brought `jobs` (begun when `since` "paused"
 * events were heard): hold them, and look again if full.
 */
function claimed(
  w: Core,
  want: number,
  jobs: ClaimedJob[],
  since: number,
): void {
  w.maybeMore = jobs.length === want;
  hold(w, jobs, since);
  if (w.claims === 0) {
    w.pauses.settle();
    w.wakeups.claimsBack();
  }
  if (w.maybeMore) w.wakeups.requested = true;
  w.wakeups.poke();
}

/** The claim loop: listens for wake-ups, claims while there is room, idles. */
async function loop(w: Core): Promise<void> {
  const inFlight = w.inFlight;
  const withdraw = offerToTake(
    w.queue,
    (types) => {
      // A hand-off is a claim under way too: what a pause heard meanwhile
      // reached goes back.
      const since = w.pauses.mark();
      return handOff(
        w,
        types,
        () => wanted(w),
        (want, jobs) => claimed(w, want, jobs, since),
      );
    },
  );
  while (!w.stopping && !w.closedUnder) {
    const pause = w.pausedUntil - performance.now();
    if (pause > 0) {
      await sleep(pause);
      continue;
    }
    try {
      w.unlisten ??= await w.queue.listen("worker", (e) => onEvent(w, e));
    } catch (err) {
      if (err instanceof QueueClosedError || w.queue.closed) break;
      backOff(w, err);
      continue;
    }
    // A second claim goes out only while the last one came back full and
    // this one claims ahead of the free slots: a worker that claims only
    // for its free slots (handlers slow, or work arriving a job at a time)
    // waits for this claim, then claims again as a slot frees.
    while (
      !w.paused && w.wakeups.requested && w.claims < w.settings.maxClaims
    ) {
      const want = wanted(w);
      if (want <= 0) break;
      w.wakeups.requested = w.maybeMore && w.claims === 0 &&
        want > w.settings.concurrency - w.slots.busy;
      const p = claim(w, want);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    const room = !w.paused && wanted(w) > 0 &&
      w.claims < w.settings.maxClaims;
    await w.wakeups.idle(room, w.stopping || w.closedUnder);
  }
  withdraw();
  while (inFlight.size > 0) await Promise.all(inFlight);
  w.wakeups.stop();
}
