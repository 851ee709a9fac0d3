/**
 * Connections of the Redis backend: a command connection and a subscriber
 * connection, to a single server or a Cluster, made from a URL (then ours to
 * close) or borrowed from the user's node-redis client (then theirs; only the
 * subscriber duplicate is ours). Runs the Lua scripts through scripts.ts
 * (FCALL of the Functions library, or EVALSHA).
 *
 * The driver is typed by shape (driver.ts) so nothing here imports it: the
 * factories come from mod.ts through options.ts. Connections we make never
 * queue commands while offline (a call fails at once with the driver's
 * error, which the backend turns into a BackendError) and reconnect by
 * themselves once they have connected once; a first connection that fails
 * is dropped so that the next call tries again.
 *
 * @module
 */

import { backendClosed } from "../../src/backend/closed.ts";
import {
  type DriverListener,
  isCluster,
  type MessageListener,
  type RedisLike,
} from "./driver.ts";
import type { ScriptName } from "./lua.ts";
import { scriptRunner, sendTo } from "./scripts.ts";

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

/** Connects a client; one that fails to connect is destroyed. */
async function connected(
  client: RedisLike,
  onError: DriverListener,
): Promise<RedisLike> {
  client.on("error", onError);
  try {
    await client.connect();
  } catch (err) {
    client.destroy();
    throw err;
  }
  return client;
}

/**
 * Makes and connects a client of the backend's own. It reconnects by itself
 * once it has connected once; a first connection that fails is given up.
 */
async function ownClient(
  factory: Factory,
  onError: DriverListener,
): Promise<RedisLike> {
  let up = false;
  const client = await connected(
    factory.make((retries) =>
      up ? Math.min(50 * 2 ** Math.min(retries, 6), 2_000) : false
    ),
    onError,
  );
  up = true;
  return client;
}

/** Calls `onResync` each time a subscriber is ready again after a drop. */
function watchDrops(
  client: RedisLike,
  cluster: boolean,
  onResync: () => void,
): RedisLike {
  let lost = false;
  client.on(cluster ? "node-reconnecting" : "reconnecting", () => {
    lost = true;
  });
  client.on(cluster ? "node-ready" : "ready", () => {
    if (!lost) return;
    lost = false;
    onResync();
  });
  return client;
}

function pubSubOf(client: RedisLike): PubSub {
  return isCluster(client)
    ? {
      subscribe: (ch, fn) => client.sSubscribe(ch, fn),
      unsubscribe: (ch, fn) => client.sUnsubscribe(ch, fn),
    }
    : {
      subscribe: (ch, fn) => client.subscribe(ch, fn),
      unsubscribe: (ch, fn) => client.unsubscribe(ch, fn),
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
  const factory = "factory" in source ? source.factory : undefined;
  const cluster = borrowed !== undefined
    ? isCluster(borrowed)
    : factory!.cluster;
  const scripts = scriptRunner(publish ?? (cluster ? "SPUBLISH" : "PUBLISH"));
  let closed = false;
  let resync: (() => void) | undefined;
  // One function per backend, so that removing it leaves others' in place.
  const onError = (): void => {};

  const main = lazyClient(async () => {
    if (borrowed === undefined) return await ownClient(factory!, onError);
    borrowed.on("error", onError);
    if (!borrowed.isOpen) await borrowed.connect();
    return borrowed;
  });
  const sub = lazyClient(async () =>
    watchDrops(
      borrowed === undefined
        ? await ownClient(factory!, onError)
        : await connected(borrowed.duplicate(), onError),
      cluster,
      () => resync?.(),
    )
  );

  return {
    cluster,

    async run(name, key, args) {
      if (closed) throw backendClosed("redis");
      return await scripts.run(
        main.current() ?? await main.get(),
        name,
        key,
        args,
      );
    },

    async send(key, args) {
      if (closed) throw backendClosed("redis");
      return await sendTo(main.current() ?? await main.get(), key, args);
    },

    async pubsub(onResync) {
      if (closed) throw backendClosed("redis");
      resync = onResync;
      return pubSubOf(await sub.get());
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
