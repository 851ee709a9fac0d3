/**
 * The persistent stores the multi-process tests run on, each reached by a
 * URL that child processes open on their own: a SQLite file in a temp
 * directory, a redis-server and a PostgreSQL server, each started on a free
 * loopback port and stopped after. Tests only.
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres } from "./postgres_server.ts";
import { startRedis } from "./redis_server.ts";

/** A store the test starts, hands out by URL, and stops. */
export interface UrlStore {
  /** "sqlite", "redis" or "postgres". */
  name: string;
  /** Its URL, once started. */
  url(): string;
  /** Starts it (a temp directory, or a server). */
  start(): Promise<void>;
  /** Stops it and deletes what it made. */
  stop(): Promise<void>;
}

/**
 * A SQLite file, a redis-server and a PostgreSQL server, not yet started.
 *
 * @example
 * ```ts ignore
 * for (const store of urlStores()) {
 *   await store.start();
 *   console.log(store.name, store.url());
 *   await store.stop();
 * }
 * ```
 */
export function urlStores(): UrlStore[] {
  return [sqliteStore(), redisStore(), postgresStore()];
}

function sqliteStore(): UrlStore {
  let dir = "";
  return {
    name: "sqlite",
    url: () => `sqlite://${join(dir, "jobs.db")}`,
    start: () => {
      dir = mkdtempSync(join(tmpdir(), "jobline-procs-"));
      return Promise.resolve();
    },
    stop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function redisStore(): UrlStore {
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  return {
    name: "redis",
    url: () => server!.url,
    start: async () => void (server = await startRedis()),
    stop: async () => await server?.destroy(),
  };
}

function postgresStore(): UrlStore {
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  return {
    name: "postgres",
    url: () => server!.url,
    start: async () => void (server = await startPostgres()),
    stop: () => Promise.resolve(server?.destroy()),
  };
}
