/**
 * URLs of the Redis backend: `redis://`, `rediss://` and `redis+cluster://`
 * parsing, and the connection factory for connections the backend owns.
 * Imports no driver: the scheme table calls parseRedisUrl when a queue is
 * created.
 *
 * @module
 */

import { invalid } from "../../src/validate.ts";
import type { Factory, RedisLike } from "./connection.ts";

/** Parses `redis+cluster://[user[:pass]@]h:p,h:p` into root nodes. */
function clusterNodes(url: string): {
  nodes: { url: string }[];
  username?: string;
  password?: string;
} {
  let rest = url.slice("redis+cluster://".length).replace(/[/?#].*$/, "");
  const out: {
    nodes: { url: string }[];
    username?: string;
    password?: string;
  } = { nodes: [] };
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const info = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = info.indexOf(":");
    const user = decodeURIComponent(colon < 0 ? info : info.slice(0, colon));
    if (user !== "") out.username = user;
    if (colon >= 0) out.password = decodeURIComponent(info.slice(colon + 1));
  }
  for (const host of rest.split(",")) {
    if (!/^[^\s:,]+:\d+$/.test(host) && !/^\[[0-9a-f:.]+\]:\d+$/i.test(host)) {
      throw invalid(
        "create redis backend",
        "url",
        "redis+cluster://host:port,host:port,...",
        url,
      );
    }
    out.nodes.push({ url: `redis://${host}` });
  }
  return out;
}

const SCHEMES = ["redis:", "rediss:", "redis+cluster:"];

/**
 * Checks a Redis URL without connecting: `redis://[user[:pass]@]host[:port][/db]`,
 * `rediss://...` (TLS), or `redis+cluster://host:port,host:port,...`.
 *
 * @param url The URL.
 * @returns Whether it names a Cluster, and its root nodes when it does.
 * @throws {ValidationError} when the URL is malformed.
 */
export function parseRedisUrl(
  url: string,
): { cluster: boolean; nodes: { url: string }[] } {
  const act = "create redis backend";
  const scheme = typeof url === "string"
    ? /^[a-z+]+:/i.exec(url)?.[0]?.toLowerCase()
    : undefined;
  if (scheme === undefined || !SCHEMES.includes(scheme)) {
    throw invalid(act, "url", `a URL starting with ${SCHEMES.join(" ")}`, url);
  }
  if (scheme === "redis+cluster:") {
    return { cluster: true, nodes: clusterNodes(url).nodes };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(act, "url", "redis://[user[:pass]@]host[:port][/db]", url);
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (
    parsed.hostname === "" || !url.slice(scheme.length).startsWith("//") ||
    (db !== "" && !/^\d+$/.test(db))
  ) {
    throw invalid(act, "url", "redis://[user[:pass]@]host[:port][/db]", url);
  }
  return { cluster: false, nodes: [{ url }] };
}

/** The driver's two factories (passed in: only redis.ts imports the driver). */
export interface Drivers {
  createClient(options: Record<string, unknown>): unknown;
  createCluster(
    options: { rootNodes: { url: string }[] } & Record<string, unknown>,
  ): unknown;
}

/**
 * How the backend makes its own connections from a URL: one server
 * (`redis://`, `rediss://`) or a Cluster (`redis+cluster://`). They never
 * queue commands while offline, and reconnect as the strategy says.
 */
export function factoryOf(
  url: string,
  clientOptions: Record<string, unknown>,
  connectTimeout: number,
  { createClient, createCluster }: Drivers,
): Factory {
  const socketOf = (reconnect: (retries: number) => number | false) => ({
    connectTimeout,
    ...(clientOptions.socket as Record<string, unknown> | undefined),
    reconnectStrategy: reconnect,
  });
  if (url.toLowerCase().startsWith("redis+cluster:")) {
    const { nodes, ...auth } = clusterNodes(url);
    return {
      cluster: true,
      make: (reconnect) =>
        createCluster({
          rootNodes: nodes,
          defaults: {
            ...auth,
            ...clientOptions,
            socket: socketOf(reconnect),
            disableOfflineQueue: true,
          },
        }) as unknown as RedisLike,
    };
  }
  return {
    cluster: false,
    make: (reconnect) =>
      createClient({
        ...clientOptions,
        url,
        socket: socketOf(reconnect),
        disableOfflineQueue: true,
      }) as unknown as RedisLike,
  };
}
