/**
 * Which enqueue notifications of the PostgreSQL backend wake no worker of
 * this backend object: those that name only jobs its own enqueue claimed
 * as it stored them (the hand-off, src/handoff.ts). A worker woken
 * by one would claim and find nothing. The notification and the enqueue's
 * reply come on different connections, in either order: one that comes
 * while the statement is still on its way waits for its reply, and then
 * wakes the workers unless every job it names was handed off. Anything
 * not known here (another process's enqueue, one forgotten) wakes them.
 *
 * @module
 */

/** The hand-offs of one backend. */
export interface HandOffs {
  /**
   * A hand-off statement goes out for the jobs `ids` of `queue`: returns
   * what to call with the ids it claimed, once it is answered (none when
   * it failed).
   */
  sending(queue: string, ids: readonly string[]): (claimed: string[]) => void;
  /**
   * The notification of the jobs `ids` of `queue` came: calls `wake` now,
   * once the statements it waits for are answered, or never (every job
   * handed off).
   */
  enqueued(queue: string, ids: readonly string[], wake: () => void): void;
}

/** A hand-off statement: what it claimed (null while on its way). */
interface Sent {
  claimed: Set<string> | null;
  /** Notifications that wait for its answer. */
  waiting: Waiting[];
}

/** A notification whose wake-up waits for the answers of statements. */
interface Waiting {
  ids: readonly string[];
  sent: Sent[];
  open: number;
  wake: () => void;
}

/** How many jobs are remembered at most (their notifications may be lost). */
const MAX_JOBS = 10_000;

/** Makes the hand-off bookkeeping of one backend. */
export function createHandOffs(): HandOffs {
  const jobs = new Map<string, Sent>();
  const key = (queue: string, id: string) => `${queue}\0${id}`;
  const decide = (w: Waiting) => {
    if (!w.ids.every((id, i) => w.sent[i]!.claimed!.has(id))) w.wake();
  };
  return {
    sending(queue, ids) {
      const sent: Sent = { claimed: null, waiting: [] };
      for (const id of ids) jobs.set(key(queue, id), sent);
      if (jobs.size > MAX_JOBS) {
        // The oldest go first: their notifications then wake, as before.
        for (const k of jobs.keys()) {
          jobs.delete(k);
          if (jobs.size <= MAX_JOBS / 2) break;
        }
      }
      return (claimed) => {
        sent.claimed = new Set(claimed);
        // A job not claimed wakes whether remembered or not: forget it now
        // (its notification may never come: a held key stores no job).
        for (const id of ids) {
          const k = key(queue, id);
          if (!sent.claimed.has(id) && jobs.get(k) === sent) jobs.delete(k);
        }
        for (const w of sent.waiting) if (--w.open === 0) decide(w);
        sent.waiting = [];
      };
    },
    enqueued(queue, ids, wake) {
      const sent: Sent[] = [];
      for (const id of ids) {
        const s = jobs.get(key(queue, id));
        if (s === undefined) continue;
        jobs.delete(key(queue, id));
        sent.push(s);
      }
      if (ids.length === 0 || sent.length < ids.length) return wake();
      const w: Waiting = { ids, sent, open: 0, wake };
      for (const s of new Set(sent)) {
        if (s.claimed !== null) continue;
        s.waiting.push(w);
        w.open++;
      }
      if (w.open === 0) decide(w);
    },
  };
}
