/**
 * Claim-ahead sizing: how many jobs a worker asks for in one claim, from its
 * free slots, how fast its handlers finish, how long a claim takes and its
 * `prefetch` cap. Arithmetic and the pace it reads; it must never call the
 * queue, start a timer or hold a job.
 *
 * @module
 */

/** A worker holds ahead about as many jobs as it finishes in this many ms. */
export const AHEAD_MS = 100;

/** How fast a worker's handlers finish and how long its claims take. */
export interface Pace {
  /** Handlers finished in about the last AHEAD_MS (exponentially weighted). */
  recent(): number;
  /** The claim round trip in ms, a moving average (AHEAD_MS at first). */
  readonly claimMs: number;
  /** A handler finished. */
  finished(): void;
  /** A claim call came back after `ms`. */
  claimed(ms: number): void;
}

/**
 * Makes the pace of one worker.
 *
 * @param now A monotonic clock in ms (performance.now by default; a test
 *   passes its own).
 * @returns The pace, with nothing finished yet.
 */
export function createPace(now: () => number = () => performance.now()): Pace {
  let recent = 0;
  let recentAt = now();
  let claimMs = AHEAD_MS;
  /** Decays `recent` to the present. */
  const decay = (): number => {
    const t = now();
    recent *= Math.exp((recentAt - t) / AHEAD_MS);
    recentAt = t;
    return recent;
  };
  return {
    recent: decay,
    get claimMs() {
      return claimMs;
    },
    finished() {
      decay();
      recent++;
    },
    claimed(ms) {
      claimMs = 0.8 * claimMs + 0.2 * ms;
    },
  };
}

/** What the size of the next claim depends on. */
export interface ClaimInputs {
  /** Handlers the worker may run at once. */
  concurrency: number;
  /** Handlers running now. */
  busy: number;
  /** The most jobs it may hold ahead of its free slots (0: none). */
  prefetch: number;
  /** Handlers finished in about the last AHEAD_MS ({@linkcode Pace.recent}). */
  recent: number;
  /** The claim round trip in ms ({@linkcode Pace.claimMs}). */
  claimMs: number;
  /** Jobs claimed ahead and not started. */
  waiting: number;
  /** Jobs asked for by the claims under way. */
  claimingFor: number;
  /** Leases the worker holds: waiting, running, or storing their result. */
  held: number;
}

/**
 * How many jobs to hold ahead of free slots: about as many as handlers
 * finish in four claim round trips, and no more than in AHEAD_MS, so where
 * a claim costs next to nothing (in memory) hardly any, and none while
 * handlers are slow. Never more than `prefetch`.
 *
 * @returns A whole number of jobs, 0 when `prefetch` is 0.
 */
export function aheadTarget(
  prefetch: number,
  recent: number,
  claimMs: number,
): number {
  if (prefetch <= 0) return 0;
  const share = Math.min(1, (4 * claimMs) / AHEAD_MS);
  return Math.min(prefetch, Math.floor(recent * share));
}

/**
 * How many jobs to claim now: one per free slot, plus half the jobs to hold
 * ahead, so that one claim is under way while the jobs of the other run;
 * nothing while the jobs claimed or being claimed already cover what is
 * held ahead. At most twice `concurrency` plus the jobs ahead are leased in
 * all, so results being stored do not hold up the next claim.
 *
 * @returns The claim's limit; 0 or less means do not claim.
 */
export function claimSize(s: ClaimInputs): number {
  const ahead = aheadTarget(s.prefetch, s.recent, s.claimMs);
  const coming = s.waiting + s.claimingFor;
  if (coming > 0 && coming >= ahead) return 0;
  const free = s.concurrency - s.busy;
  return Math.min(
    free + Math.ceil(ahead / 2),
    free + ahead - coming,
    2 * (s.concurrency + ahead) - s.held - s.claimingFor,
  );
}
