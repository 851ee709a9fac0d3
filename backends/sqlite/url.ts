/**
 * SQLite URLs and options: turns `sqlite://...` URLs and the options of
 * sqliteBackend() into one checked configuration. Driver-free on purpose,
 * so that src/url.ts may import it to reject a bad URL synchronously
 * without loading `node:sqlite`.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";

/** The checked configuration of a SQLite backend. */
export interface SqliteConfig {
  /** A file path, or ":memory:". */
  path: string;
  /** PRAGMA synchronous: "normal" (the default) or "full". */
  synchronous: "normal" | "full";
  /** How long (ms) a write waits for another connection's lock. */
  busyTimeout: number;
  /** How often (ms) listeners look for other processes' events. */
  eventInterval: number;
  /** How long (ms) the updates log keeps events for slow readers. */
  eventRetention: number;
  /** How often (ms) expired jobs and old events are deleted. */
  housekeepingInterval: number;
}

/** Defaults of every option but the path. */
export const SQLITE_DEFAULTS: Omit<SqliteConfig, "path"> = {
  synchronous: "normal",
  busyTimeout: 5_000,
  eventInterval: 50,
  eventRetention: 5_000,
  housekeepingInterval: 1_000,
};

/** URL query names, in both spellings, to option names. */
const QUERY_OPTIONS: Record<string, keyof Omit<SqliteConfig, "path">> = {
  synchronous: "synchronous",
  busyTimeout: "busyTimeout",
  busy_timeout: "busyTimeout",
  eventInterval: "eventInterval",
  event_interval: "eventInterval",
  eventRetention: "eventRetention",
  event_retention: "eventRetention",
  housekeepingInterval: "housekeepingInterval",
  housekeeping_interval: "housekeepingInterval",
};

/** Options as a caller may give them (before checks). */
export type SqliteOptionInput = Partial<Omit<SqliteConfig, "path">>;

/**
 * Parses `sqlite://relative/path.db`, `sqlite:///absolute/path.db`,
 * `sqlite::memory:` or `sqlite://:memory:`, each with optional query
 * options such as `?synchronous=full&busyTimeout=10000`.
 *
 * @throws {ValidationError} naming the URL for anything else.
 */
export function parseSqliteUrl(url: string): SqliteConfig {
  const bad = (why: string) =>
    new ValidationError(
      `Cannot open the SQLite URL ${JSON.stringify(url)}: ${why}`,
    );
  if (typeof url !== "string") throw bad("it must be a string");
  const match = /^sqlite:(\/\/)?([^?#]*)(\?[^#]*)?$/i.exec(url);
  if (match === null) {
    throw bad(
      "use sqlite://relative/path.db, sqlite:///absolute/path.db, " +
        "sqlite::memory: or sqlite://:memory:",
    );
  }
  const [, slashes, rest = "", query] = match;
  let path: string;
  if (rest === ":memory:") path = ":memory:";
  else if (slashes === undefined) {
    throw bad(
      "a file needs sqlite://relative/path.db or sqlite:///absolute/path.db",
    );
  } else {
    try {
      path = decodeURIComponent(rest);
    } catch (err) {
      throw new ValidationError(
        `Cannot open the SQLite URL ${JSON.stringify(url)}: bad escape`,
        { cause: err },
      );
    }
    if (path === "" || path === "/" || path.endsWith("/")) {
      throw bad("the URL names no database file");
    }
    if (path.includes("\0")) throw bad("the path holds a NUL character");
  }
  const input: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(query ?? "")) {
    const option = QUERY_OPTIONS[name];
    if (option === undefined) {
      throw bad(
        `unknown option '${name}' (known: synchronous, busyTimeout, ` +
          `eventInterval, eventRetention, housekeepingInterval)`,
      );
    }
    input[option] = option === "synchronous"
      ? value.toLowerCase()
      : /^\d+$/.test(value)
      ? Number(value)
      : value;
  }
  try {
    return checkSqliteOptions(path, input as SqliteOptionInput);
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
}

/** Checks the options of sqliteBackend() and fills in the defaults. */
export function checkSqliteOptions(
  path: unknown,
  options: SqliteOptionInput,
): SqliteConfig {
  const action = "open the SQLite backend";
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new ValidationError(
      `Cannot ${action} as 'path' must be a file path or ":memory:": ` +
        `current value is ${JSON.stringify(path) ?? String(path)}`,
    );
  }
  const {
    synchronous = SQLITE_DEFAULTS.synchronous,
    busyTimeout = SQLITE_DEFAULTS.busyTimeout,
    eventInterval = SQLITE_DEFAULTS.eventInterval,
    eventRetention = SQLITE_DEFAULTS.eventRetention,
    housekeepingInterval = SQLITE_DEFAULTS.housekeepingInterval,
  } = options;
  if (synchronous !== "normal" && synchronous !== "full") {
    throw new ValidationError(
      `Cannot ${action} as 'synchronous' must be "normal" or "full": ` +
        `current value is ${JSON.stringify(synchronous) ?? synchronous}`,
    );
  }
  const ms = (name: string, value: unknown, min: number): number => {
    if (
      typeof value !== "number" || !Number.isInteger(value) || value < min ||
      value > 2 ** 31 - 1
    ) {
      throw new ValidationError(
        `Cannot ${action} as '${name}' must be an integer number of ms ` +
          `from ${min}: current value is ${
            JSON.stringify(value) ?? String(value)
          }`,
      );
    }
    return value;
  };
  return {
    path,
    synchronous,
    busyTimeout: ms("busyTimeout", busyTimeout, 0),
    eventInterval: ms("eventInterval", eventInterval, 1),
    eventRetention: ms("eventRetention", eventRetention, 100),
    housekeepingInterval: ms("housekeepingInterval", housekeepingInterval, 1),
  };
}
