/**
 * The "paused" signals a worker heard (its queue, or a type of it, paused
 * by any process), kept while its claims are under way: a claim that began
 * before one may bring jobs of what it paused, and those must go back
 * unstarted. Counting and matching only; it never calls the queue, starts
 * a timer or holds a job.
 *
 * @module
 */

/** What a worker heard of pauses, for the claims it has under way. */
export interface PauseLog {
  /** The mark a claim takes as it begins, for {@linkcode PauseLog.since}. */
  mark(): number;
  /**
   * The queue (`type` null) or a type was paused; `claiming`: a claim is
   * under way, so the pause is kept for it.
   */
  heard(type: string | null, claiming: boolean): void;
  /**
   * Whether a job of a type was paused since `mark`: a test of the type,
   * or null when nothing was.
   */
  since(mark: number): ((type: string) => boolean) | null;
  /** No claim is under way any more: the pauses kept go. */
  settle(): void;
}

/**
 * Makes an empty pause log.
 *
 * @example A claim begun before a pause of type "mail"
 * ```ts
 * import { createPauseLog } from "./pauses.ts";
 * const log = createPauseLog();
 * const mark = log.mark();
 * log.heard("mail", true);
 * const paused = log.since(mark);
 * console.log(paused?.("mail"), paused?.("sms")); // true false
 * ```
 */
export function createPauseLog(): PauseLog {
  let heard = 0;
  let kept: { n: number; type: string | null }[] = [];
  return {
    mark: () => heard,
    heard(type, claiming) {
      heard++;
      if (claiming) kept.push({ n: heard, type });
    },
    since(mark) {
      if (mark >= heard) return null;
      const later = kept.filter((p) => p.n > mark);
      return (type) => later.some((p) => p.type === null || p.type === type);
    },
    settle() {
      kept = [];
    },
  };
}
