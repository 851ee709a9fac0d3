/**
 * One redis-server for one test file: started before its tests (node:test
 * `before`) on a free loopback port, with a raw client on it for looking at
 * keys and a backend made by the file, all closed and the server deleted
 * after its tests (`after`). Call it at the top level of the file.
 *
 * ```ts
 * const redis = redisFixture((url) => redisBackend({ url, prefix: "x" }));
 * test("...", async () => {
 *   const queue = createQueue({ backend: redis.backend, name: "q" });
 *   console.log(await redis.cmd("KEYS", "x:*"));
 * });
 * ```
 */

import { after, before } from "node:test";
import { createClient } from "redis";
import { type RedisServer, startRedis } from "./redis_server.ts";

/** What a test file's server gives its tests, from `before` on. */
export interface RedisFixture<B> {
  /** The server. */
  readonly server: RedisServer;
  /** A raw client on it. */
  readonly client: ReturnType<typeof createClient>;
  /** The file's backend on it. */
  readonly backend: B;
  /** Sends a raw command on the client. */
  cmd(...args: string[]): Promise<unknown>;
}

/**
 * Starts a server, a raw client and the backend `open` makes on the
 * server's URL before the file's tests, and ends them after.
 */
export function redisFixture<B extends { close(): Promise<void> }>(
  open: (url: string) => B,
): RedisFixture<B> {
  let server: RedisServer | undefined;
  let client: ReturnType<typeof createClient> | undefined;
  let backend: B | undefined;
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no redis ${what}: not started`);
    return value;
  };
  before(async () => {
    server = await startRedis();
    client = createClient({ url: server.url });
    client.on("error", () => {});
    await client.connect();
    backend = open(server.url);
  });
  after(async () => {
    await backend?.close();
    await client?.close();
    await server?.destroy();
  });
  return {
    get server() {
      return started(server, "server");
    },
    get client() {
      return started(client, "client");
    },
    get backend() {
      return started(backend, "backend");
    },
    cmd: (...args) => started(client, "client").sendCommand(args),
  };
}
