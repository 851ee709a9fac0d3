/**
 * Which `Host` a dashboard answers to, against DNS rebinding: a hostile
 * page whose own name the attacker points at 127.0.0.1 (or a LAN address)
 * reaches the dashboard as the same origin, and its requests carry that
 * name as their Host. The rules: the names of `allowedHosts` when given;
 * for `serveDashboard` on a loopback address, localhost, 127.0.0.1 and
 * [::1] at its port; otherwise IP literals and localhost names only (no
 * DNS name can be rebound to those). Decides; answers nothing.
 *
 * @module
 */

/** True when a request's URL names a host the dashboard answers to. */
export type HostCheck = (url: URL) => boolean;

/** One entry of `allowedHosts`: a name, and a port when it gave one. */
interface HostRule {
  hostname: string;
  port: string | null;
}

const WITH_PORT = /^(\[[^\]]*\]|[^:[\]]+):\d+$/;

/** The port of a URL, its scheme's default when it shows none. */
function portOf(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

function parseRule(entry: string): HostRule {
  const bad = (): TypeError =>
    new TypeError(
      `Cannot make dashboard as 'allowedHosts' must hold host names, with or without a port ("example.com", "example.com:8080"): current value is ${
        JSON.stringify(entry)
      }`,
    );
  if (typeof entry !== "string" || entry === "" || /[/?#@\s\\]/.test(entry)) {
    throw bad();
  }
  let url: URL;
  try {
    url = new URL(`http://${entry}`);
  } catch {
    throw bad();
  }
  const port = WITH_PORT.test(entry)
    ? entry.slice(entry.lastIndexOf(":") + 1)
    : null;
  return {
    hostname: url.hostname,
    port: port === null ? null : String(Number(port)),
  };
}

/** IP literals, "localhost" and names under ".localhost", at any port. */
export const localNames: HostCheck = (url) => {
  const name = url.hostname;
  return name === "localhost" || name.endsWith(".localhost") ||
    name.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(name);
};

/**
 * The loopback names at one port: what a browser on this machine sends to
 * a server that listens on loopback.
 *
 * @param port The port, once the server knows it.
 */
export function loopbackAt(port: () => number): HostCheck {
  const names = new Set(["localhost", "127.0.0.1", "[::1]"]);
  return (url) => names.has(url.hostname) && portOf(url) === String(port());
}

/** True for an address that only this machine can reach. */
export function isLoopback(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || name === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * The check of `allowedHosts`, or `fallback` when it is not given.
 *
 * @param allowed The entries: "name", "name:port", or "*" for any host.
 * @param fallback The check without entries.
 * @returns The check; throws TypeError for a bad entry.
 */
export function hostCheck(
  allowed: readonly string[] | undefined,
  fallback: HostCheck,
): HostCheck {
  if (allowed === undefined) return fallback;
  if (!Array.isArray(allowed)) {
    throw new TypeError(
      "Cannot make dashboard as 'allowedHosts' must be an array of host names",
    );
  }
  if (allowed.includes("*")) return () => true;
  const rules = allowed.map(parseRule);
  return (url) =>
    rules.some((r) =>
      r.hostname === url.hostname && (r.port === null || r.port === portOf(url))
    );
}
