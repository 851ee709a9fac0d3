/**
 * What jobline needs of node-redis, typed by shape: the client and cluster
 * client interfaces users may pass in, and the one test that tells them
 * apart. Nothing here imports the driver (only mod.ts does), so the core and
 * the URL check never load it.
 *
 * @module
 */

/**
 * A listener of driver events (structural).
 *
 * @example
 * ```ts
 * import type { DriverListener } from "@jobline/jobline/redis";
 * const onError: DriverListener = (err) => console.error(err);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type DriverListener = (...args: any[]) => void;

/**
 * A channel message listener (structural).
 *
 * @example
 * ```ts
 * import type { MessageListener } from "@jobline/jobline/redis";
 * const log: MessageListener = (message, channel) => console.log(channel, message);
 * ```
 */
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
