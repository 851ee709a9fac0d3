/**
 * Connections of the Redis backend: a command connection and a subscriber
 * connection, to a single server or a Cluster, made from a URL (then ours to
 * close) or borrowed from the user's node-redis client (then theirs; only the
 * subscriber duplicate is ours). Runs the Lua scripts with EVALSHA, falling
 * back to EVAL (which caches the script) on NOSCRIPT.
 *
 * The driver is typed structurally so nothing here imports it: the factories
 * come from backends/redis.ts. Connections we make never queue commands while
 * offline (a call fails at once with the driver's error, which the backend
 * turns into a BackendError) and reconnect by themselves once they have
 * connected once; a first connection that fails is dropped so that the next
 * call tries again.
 *
 * @module
 */

import { type ScriptName, scriptSources } from "./lua.ts";

/** A listener of driver events (structural). */
// deno-lint-ignore no-explicit-any
type DriverListener = (...args: any[]) => void;

/** A channel message listener (structural). */
export type MessageListener = (message: string, channel: string) => unknown;

/**
 * What jobline needs of a node-redis client (`createClient()`), typed by
 * shape so the core never imports the driver.
 *
 * @example
 * ```ts ignore
 * import { createClient } from "redis";
 * import type { RedisClientLike } from "@jobline/jobline/redis";
 * const client: RedisClientLike = createClient({ url: "redis://localhost:6379" });
 * ```
 */
export interface RedisClientLike {
  /** True while the client is connected or reconnecting. */
  readonly isOpen: boolean;
  /** True while the client can send commands. */
  readonly isReady: boolean;
  /** Connects. */
  connect(): Promise<unknown>;
  /** Sends a raw command. */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new client with the same options. */
  duplicate(): RedisClientLike;
  /** Subscribes a listener to a channel. */
  subscribe(channels: string, listener: MessageListener): Promise<void>;
  /** Removes a listener from a channel. */
  unsubscribe(channels: string, listener: MessageListener): Promise<void>;
  /** Adds an event listener. */
  on(event: string, listener: DriverListener): unknown;
  /** Removes an event listener. */
  off(event: string, listener: DriverListener): unknown;
  /** Closes after pending replies. */
  close(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
}

/**
 * What jobline needs of a node-redis cluster client (`createCluster()`),
 * typed by shape.
 *
 * @example
 * ```ts ignore
 * import { createCluster } from "redis";
 * import type { RedisClusterLike } from "@jobline/jobline/redis";
 * const cluster: RedisClusterLike = createCluster({
 *   rootNodes: [{ url: "redis://10.0.0.1:6379" }],
 * });
 * ```
 */
export interface RedisClusterLike {
  /** The master nodes (present only on a cluster client). */
  readonly masters: readonly unknown[];
  /** True while the cluster client is open. */
  readonly isOpen: boolean;
  /** True while the cluster client can send commands. */
  readonly isReady: boolean;
  /** Discovers the cluster and connects. */
  connect(): Promise<unknown>;
  /** Sends a raw command to the node that serves `firstKey`. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  /** A new cluster client with the same options. */
  duplicate(): RedisClusterLike;
  /** Subscribes a listener to a sharded channel. */
  sSubscribe(channels: string, listener: MessageListener): Promise<void>;
  /** Removes a listener from a sharded channel. */
  sUnsubscribe(channels: string, listener: MessageListener): Promise<void>;
  /** Adds an event listener. */
  on(event: string, listener: DriverListener): unknown;
  /** Removes an event listener. */
  off(event: string, listener: DriverListener): unknown;
  /** Closes after pending replies. */
  close(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
}

/** A node-redis client or cluster client. */
export type RedisLike = RedisClientLike | RedisClusterLike;

/** Tells a cluster client from a single-server client. */
export function isCluster(client: RedisLike): client is RedisClusterLike {
  return Array.isArray((client as RedisClusterLike).masters);
}

/** Subscribing, on whichever kind of connection. */
export interface PubSub {
  subscribe(channel: string, listener: MessageListener): Promise<void>;
  unsubscribe(channel: string, listener: MessageListener): Promise<void>;
}

/** How connections are made when the backend owns them. */
export interface Factory {
  /** True for a Cluster. */
  cluster: boolean;
  /**
   * Makes an unconnected client. `reconnect` is the reconnect strategy to
   * install: it gives up before the first connection and retries after.
   */
  make(
    reconnect: (retries: number) => number | false,
  ): RedisLike;
}

/** The backend's connections. */
export interface Connection {
  /** True on a Cluster. */
  readonly cluster: boolean;
  /** Runs a script in the namespace `key`. */
  run(name: ScriptName, key: string, args: string[]): Promise<unknown>;
  /** Sends a raw command routed by `key`. */
  send(key: string, args: string[]): Promise<unknown>;
  /**
   * The subscriber connection, made on first use. `onResync` is called
   * after it reconnects (messages may have been lost).
   */
  pubsub(onResync: () => void): Promise<PubSub>;
  /** Closes what this connection owns. */
  close(): Promise<void>;
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function shutdown(client: RedisLike): Promise<void> {
  if (!client.isOpen) return Promise.resolve();
  if (!client.isReady) {
    client.destroy();
    return Promise.resolve();
  }
  return client.close().catch(() => client.destroy());
}

/** A lazily connected client: a failed first connect is dropped and retried. */
function lazyClient(open: () => Promise<RedisLike>): {
  get(): Promise<RedisLike>;
  current(): RedisLike | undefined;
  close(): Promise<void>;
} {
  let client: RedisLike | undefined;
  let pending: Promise<RedisLike> | undefined;
  return {
    get() {
      if (client !== undefined) return Promise.resolve(client);
      pending ??= open().then((c) => (client = c), (err) => {
        pending = undefined;
        throw err;
      });
      return pending;
    },
    current: () => client,
    async close() {
      const c = client ?? await pending?.catch(() => undefined);
      client = undefined;
      pending = undefined;
      if (c !== undefined) await shutdown(c);
    },
  };
}

/**
 * Opens the backend's connections, from a factory (owned) or a user's client
 * (borrowed).
 */
export function openConnection(
  source: { factory: Factory } | { client: RedisLike },
  publish?: "PUBLISH" | "SPUBLISH",
): Connection {
  const borrowed = "client" in source ? source.client : undefined;
  const cluster = borrowed !== undefined
    ? isCluster(borrowed)
    : (source as { factory: Factory }).factory.cluster;
  const sources = scriptSources(publish ?? (cluster ? "SPUBLISH" : "PUBLISH"));
  let shas: Record<ScriptName, string> | undefined;
  let hashing: Promise<Record<ScriptName, string>> | undefined;
  let closed = false;
  // One function per backend, so that removing it leaves others' in place.
  const onError = (): void => {};

  async function own(): Promise<RedisLike> {
    const factory = (source as { factory: Factory }).factory;
    let connected = false;
    const client = factory.make((retries) =>
      connected ? Math.min(50 * 2 ** Math.min(retries, 6), 2_000) : false
    );
    client.on("error", onError);
    try {
      await client.connect();
    } catch (err) {
      client.destroy();
      throw err;
    }
    connected = true;
    return client;
  }

  const main = lazyClient(async () => {
    if (borrowed === undefined) return await own();
    borrowed.on("error", onError);
    if (!borrowed.isOpen) await borrowed.connect();
    return borrowed;
  });

  let resync: (() => void) | undefined;
  const sub = lazyClient(async () => {
    let client: RedisLike;
    if (borrowed === undefined) client = await own();
    else {
      client = borrowed.duplicate();
      client.on("error", onError);
      try {
        await client.connect();
      } catch (err) {
        client.destroy();
        throw err;
      }
    }
    let lost = false;
    client.on(cluster ? "node-reconnecting" : "reconnecting", () => {
      lost = true;
    });
    client.on(cluster ? "node-ready" : "ready", () => {
      if (!lost) return;
      lost = false;
      resync?.();
    });
    return client;
  });

  function send(client: RedisLike, key: string, args: string[]) {
    return isCluster(client)
      ? client.sendCommand(key, false, args)
      : client.sendCommand(args);
  }

  function hashes(): Promise<Record<ScriptName, string>> {
    hashing ??= (async () => {
      const out = {} as Record<ScriptName, string>;
      for (const name of Object.keys(sources) as ScriptName[]) {
        out[name] = await sha1(sources[name]);
      }
      return shas = out;
    })();
    return hashing;
  }

  function isNoScript(err: unknown): boolean {
    return err instanceof Error && err.message.startsWith("NOSCRIPT");
  }

  return {
    cluster,

    async run(name, key, args) {
      if (closed) throw new Error("the Redis backend is closed");
      const client = main.current() ?? await main.get();
      const sha = (shas ?? await hashes())[name];
      const command = ["EVALSHA", sha, "1", key];
      for (let i = 0; i < args.length; i++) command.push(args[i]!);
      try {
        return await send(client, key, command);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        command[0] = "EVAL";
        command[1] = sources[name];
        return await send(client, key, command);
      }
    },

    async send(key, args) {
      if (closed) throw new Error("the Redis backend is closed");
      return await send(main.current() ?? await main.get(), key, args);
    },

    async pubsub(onResync) {
      if (closed) throw new Error("the Redis backend is closed");
      resync = onResync;
      const client = await sub.get();
      return isCluster(client)
        ? {
          subscribe: (ch, fn) => client.sSubscribe(ch, fn),
          unsubscribe: (ch, fn) => client.sUnsubscribe(ch, fn),
        }
        : {
          subscribe: (ch, fn) => client.subscribe(ch, fn),
          unsubscribe: (ch, fn) => client.unsubscribe(ch, fn),
        };
    },

    async close() {
      if (closed) return;
      closed = true;
      await sub.close();
      if (borrowed === undefined) await main.close();
      else borrowed.off("error", onError);
    },
  };
}
