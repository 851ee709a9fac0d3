/**
 * SQLite URLs and options: turns `sqlite://...` URLs and the options of
 * sqliteBackend() into one checked configuration. Driver-free on purpose,
 * so that src/schemes.ts may import it to reject a bad URL synchronously
 * without loading `node:sqlite`; it must never import a runtime module
 * either (the main entry loads it): the one look at the file system, for a
 * directory, goes through the runtime's own synchronous `stat` when one is
 * at hand.
 *
 * A path is a file name, never a SQLite URI: `node:sqlite` opens `file:...`
 * names as URIs on Deno, Node and Bun alike, whose parameters
 * (`mode=memory`, `vfs=...`) would silently change where jobs are stored.
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
    const problem = pathProblem(path);
    if (problem !== undefined) {
      throw bad(`the path ${JSON.stringify(path)} ${problem}`);
    }
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
    return checkOptions(path, input as SqliteOptionInput);
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Checks the options of sqliteBackend() (a `url` or a `path`, and tuning
 * that overrides the URL's query) and fills in the defaults.
 *
 * @throws {ValidationError} for anything sqliteBackend() must refuse.
 */
export function sqliteConfig(
  options: SqliteOptionInput & { url?: string; path?: string },
): SqliteConfig {
  if (options === null || typeof options !== "object") {
    throw new ValidationError(
      "Cannot open the SQLite backend as the options must be an object " +
        "with a 'url' or a 'path'",
    );
  }
  const { url, path, ...rest } = options;
  if ((url === undefined) === (path === undefined)) {
    throw new ValidationError(
      "Cannot open the SQLite backend as it needs exactly one of 'url' " +
        "and 'path'",
    );
  }
  if (url !== undefined) {
    const fromUrl = parseSqliteUrl(url);
    return Object.keys(rest).length === 0
      ? fromUrl
      : checkSqliteOptions(fromUrl.path, { ...fromUrl, ...rest });
  }
  return checkSqliteOptions(path, rest);
}

/**
 * Checks the options of sqliteBackend() and fills in the defaults.
 *
 * @throws {ValidationError} for a bad option, a SQLite URI or a directory.
 */
export function checkSqliteOptions(
  path: unknown,
  options: SqliteOptionInput,
): SqliteConfig {
  const current = `current value is ${JSON.stringify(path) ?? String(path)}`;
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new ValidationError(
      `Cannot open the SQLite backend as 'path' must be a file path or ` +
        `":memory:": ${current}`,
    );
  }
  const problem = pathProblem(path);
  if (problem !== undefined) {
    throw new ValidationError(
      `Cannot open the SQLite backend as 'path' ${problem}: ${current}`,
    );
  }
  return checkOptions(path, options);
}

/**
 * Why a path cannot name the database file, or undefined when it can: a
 * SQLite URI (any case of `file:`, although SQLite reads only the lower
 * case one) or an existing directory.
 */
function pathProblem(path: string): string | undefined {
  if (path === ":memory:") return undefined;
  if (/^file:/i.test(path)) {
    return "is a SQLite URI (file:...), not a file name (write ./file:... " +
      "for a file whose name starts with file:)";
  }
  if (isDirectory(path)) return "is a directory, not a database file";
  return undefined;
}

/** The synchronous `stat` of the runtimes, as far as this module needs it. */
interface SyncFs {
  statSync(
    path: string,
    options: { throwIfNoEntry: false },
  ): { isDirectory(): boolean } | undefined;
}

/** What this module reads of the globals of Deno, Node and Bun. */
interface RuntimeGlobals {
  process?: { getBuiltinModule?: (name: string) => unknown };
  Deno?: {
    permissions?: {
      querySync?: (d: { name: "read"; path: string }) => { state: string };
    };
  };
}

/**
 * Whether this process may read `path` without a permission prompt:
 * always outside Deno; on Deno, only with read access already granted
 * (asking would block the caller on a prompt).
 */
export function readGranted(path: string): boolean {
  const deno = (globalThis as RuntimeGlobals).Deno;
  return deno === undefined ||
    deno.permissions?.querySync?.({ name: "read", path }).state === "granted";
}

/**
 * Whether `path` is an existing directory, asked synchronously through
 * `process.getBuiltinModule("node:fs")` (Node, Bun and Deno have it), so
 * that createQueue can refuse it at once without this module importing a
 * runtime module. On Deno it asks only with read access already granted
 * (never a permission prompt). Where it cannot ask, false: opening the
 * directory then fails with a BackendError on first use.
 */
function isDirectory(path: string): boolean {
  const g = globalThis as RuntimeGlobals;
  try {
    if (!readGranted(path)) return false;
    const fs = g.process?.getBuiltinModule?.("node:fs") as SyncFs | undefined;
    return fs?.statSync(path, { throwIfNoEntry: false })?.isDirectory() ===
      true;
  } catch {
    return false;
  }
}

/** Checks the options but the path, and fills in the defaults. */
function checkOptions(path: string, options: SqliteOptionInput): SqliteConfig {
  const action = "open the SQLite backend";
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
