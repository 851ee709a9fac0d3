/**
 * The claim lines of a PostgreSQL backend made from a URL: the claims of
 * each of the first queues to claim go over a connection of their own (a
 * client of one connection), where they follow each other on the wire,
 * instead of over any connection of the pool. It makes and ends those
 * clients and knows no statement.
 *
 * Why: a worker keeps two claims under way. Over the pool they run in two
 * server processes, and where a queue has limits the second waits for the
 * first's row lock (the queue's turns), then for its process to be woken;
 * each new connection also plans and compiles the claim functions again.
 * Over one connection the server runs the second claim as soon as the
 * first commits, in a process that has them ready. A 30,000-job drain
 * (concurrency 10) ran about 9% faster so, with 1,000 groups at
 * `concurrency: 1` as with no limits (six alternating rounds each, in one
 * process on one server).
 *
 * @module
 */

/** A client that can be ended: the driver's, in db.ts. */
export interface Client {
  end(options: { timeout: number }): Promise<void>;
}

/** Where the claims of each queue go. */
export interface ClaimLines<C extends Client> {
  /** The client of `queue`'s claims: its line, or the pool's. */
  of(queue: string): C;
  /** Ends the lines' clients; later claims go over the pool. */
  end(): Promise<void>;
}

/**
 * How many of `poolSize` connections become claim lines: one in five, two
 * at most (none below five), so that the pool keeps the rest (8 of 10).
 */
export function lineCount(poolSize: number): number {
  return Math.min(2, Math.floor(poolSize / 5));
}

/**
 * Claim lines over `pool`: the first `count` queues to claim get a client
 * of one connection each, made by `make` when first used.
 */
export function claimLines<C extends Client>(
  pool: C,
  count: number,
  make: () => C,
): ClaimLines<C> {
  const lines = new Map<string, C>();
  let ended = false;
  return {
    of(queue) {
      let line = lines.get(queue);
      if (line === undefined) {
        if (ended || lines.size >= count) return pool;
        line = make();
        lines.set(queue, line);
      }
      return line;
    },
    async end() {
      ended = true;
      const all = [...lines.values()];
      lines.clear();
      await Promise.all(all.map((line) => line.end({ timeout: 0 })));
    },
  };
}
