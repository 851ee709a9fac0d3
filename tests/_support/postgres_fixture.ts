/**
 * One PostgreSQL server for the tests of one `describe`: started before
 * them (node:test `before`) on a free loopback port, and after them
 * (`after`) the things the tests registered are closed, last first, and
 * the server deleted. Call it at the top of the `describe` body.
 *
 * ```ts
 * describe("...", () => {
 *   const pg = postgresFixture();
 *   test("...", async () => {
 *     const b = postgresBackend({ url: pg.server.url });
 *     pg.closers.push(() => b.close());
 *   });
 * });
 * ```
 */

import { after, before } from "node:test";
import { type PostgresServer, startPostgres } from "./postgres_server.ts";

/** What the server gives the tests, from `before` on. */
export interface PostgresFixture {
  /** The server. */
  readonly server: PostgresServer;
  /** What to close after the tests, before the server goes (last first). */
  readonly closers: (() => Promise<unknown>)[];
}

/** Starts a server before the tests and ends it, and what they opened, after. */
export function postgresFixture(): PostgresFixture {
  let server: PostgresServer | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    server?.destroy();
  });
  return {
    get server() {
      if (server === undefined) throw new Error("the server is not started");
      return server;
    },
    closers,
  };
}
