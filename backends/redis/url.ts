/**
 * URLs of the Redis backend: checks `redis://`, `rediss://` and
 * `redis+cluster://` URLs and reads what a connection needs from them. The
 * scheme table (src/schemes.ts) loads this file with the main entry to check
 * URLs when a queue is created, so it must never import the driver, nor any
 * file that does.
 *
 * @module
 */

import { invalid } from "../../src/validate.ts";

/**
 * What a Redis URL names.
 *
 * @example
 * ```ts
 * import { parseRedisUrl, type RedisTarget } from "./url.ts";
 * const target: RedisTarget = parseRedisUrl("redis+cluster://a:7000,b:7000");
 * console.log(target.nodes.length); // 2
 * ```
 */
export interface RedisTarget {
  /** True for `redis+cluster://`. */
  cluster: boolean;
  /**
   * The server (the URL as given), or the Cluster's root nodes as
   * `redis://host:port`.
   */
  nodes: { url: string }[];
  /** A Cluster's user name (a server's stays in its URL). */
  username?: string;
  /** A Cluster's password (a server's stays in its URL). */
  password?: string;
}

const ACT = "create redis backend";
const SCHEMES = ["redis:", "rediss:", "redis+cluster:"];
const SERVER_FORM = "redis://[user[:pass]@]host[:port][/db]";
const CLUSTER_FORM = "redis+cluster://host:port,host:port,...";
const CLUSTER_NODE = /^(?:[^\s:,[\]]+|\[[0-9a-f:.]+\]):(\d+)$/i;

/** Percent-decodes user info; a malformed escape makes the URL bad. */
function decoded(text: string, url: string, form: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(ACT, "url", form, url);
  }
}

/** Parses `redis+cluster://[user[:pass]@]h:p,h:p` into root nodes. */
function clusterTarget(url: string): RedisTarget {
  let rest = url.slice("redis+cluster://".length).replace(/[/?#].*$/, "");
  const out: RedisTarget = { cluster: true, nodes: [] };
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const info = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = info.indexOf(":");
    const user = decoded(
      colon < 0 ? info : info.slice(0, colon),
      url,
      CLUSTER_FORM,
    );
    if (user !== "") out.username = user;
    if (colon >= 0) {
      out.password = decoded(info.slice(colon + 1), url, CLUSTER_FORM);
    }
  }
  for (const host of rest.split(",")) {
    const port = CLUSTER_NODE.exec(host)?.[1];
    if (port === undefined || Number(port) > 65_535) {
      throw invalid(ACT, "url", CLUSTER_FORM, url);
    }
    out.nodes.push({ url: `redis://${host}` });
  }
  return out;
}

/** Checks `redis://` and `rediss://` URLs as the driver will read them. */
function serverTarget(url: string, scheme: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(ACT, "url", SERVER_FORM, url);
  }
  const db = parsed.pathname.replace(/^\//, "");
  // An empty host is the driver's localhost, as it always was.
  if (
    !url.slice(scheme.length).startsWith("//") ||
    (db !== "" && !/^\d+$/.test(db))
  ) {
    throw invalid(ACT, "url", SERVER_FORM, url);
  }
  decoded(parsed.username, url, SERVER_FORM);
  decoded(parsed.password, url, SERVER_FORM);
  return { cluster: false, nodes: [{ url }] };
}

/**
 * Checks a Redis URL without connecting: `redis://[user[:pass]@]host[:port][/db]`,
 * `rediss://...` (TLS), or `redis+cluster://[user[:pass]@]host:port,host:port,...`.
 *
 * @example
 * ```ts
 * import { parseRedisUrl } from "./url.ts";
 * console.log(parseRedisUrl("redis://localhost:6379/0").cluster); // false
 * ```
 *
 * @param url The URL.
 * @returns Whether it names a Cluster, and its nodes.
 * @throws {ValidationError} when the URL is malformed.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = typeof url === "string"
    ? /^[a-z+]+:/i.exec(url)?.[0]?.toLowerCase()
    : undefined;
  if (scheme === undefined || !SCHEMES.includes(scheme)) {
    throw invalid(ACT, "url", `a URL starting with ${SCHEMES.join(" ")}`, url);
  }
  return scheme === "redis+cluster:"
    ? clusterTarget(url)
    : serverTarget(url, scheme);
}
