/**
 * Every command of the `jobline` CLI on Redis and on PostgreSQL
 * (tests/_support/cli_suite.ts), each on a throwaway server started for
 * this file on a free loopback port and stopped after it.
 *
 * @module
 */

import { after, before, describe } from "node:test";
import { createQueue } from "../src/queue.ts";
import type { Target } from "./_support/cli.ts";
import { cliSuite } from "./_support/cli_suite.ts";
import { type RedisServer, startRedis } from "./_support/redis_server.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";

/** The CLI opens its queue from the URL, as a user's would. */
function target(url: string): Target {
  return { url, library: (options) => createQueue(url, options) };
}

describe("jobline CLI on servers", () => {
  let redis: RedisServer | undefined;
  let pg: PostgresServer | undefined;
  before(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
  }, { timeout: 120_000 });
  after(async () => {
    await redis?.destroy();
    pg?.destroy();
  });

  cliSuite("Redis", () => target(redis!.url));
  cliSuite("PostgreSQL", () => target(pg!.url));
});
