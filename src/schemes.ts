/**
 * The table of backend URL schemes: the one way `src/` reaches a backend.
 * Each entry checks a URL without loading a driver (so createQueue can throw
 * a ValidationError at once) and loads its backend module only on first use,
 * so the main entry never loads a database driver that is not used. The
 * table is open: `registerBackend` adds a third-party backend by scheme.
 *
 * @module
 */

import type { Backend } from "./backend/interface.ts";
import { BackendError, ValidationError } from "./errors.ts";
import { parseMemoryUrl } from "../backends/memory/url.ts";
import { parseSqliteUrl } from "../backends/sqlite/url.ts";
import { parseRedisUrl } from "../backends/redis/url.ts";
import {
  parseRedisStreamsUrl,
  STREAMS_SCHEMES,
} from "../backends/redis_streams/url.ts";
import { parsePostgresUrl } from "../backends/postgres/url.ts";

/**
 * One entry of the scheme table: how to check a URL and how to load the
 * backend it names.
 *
 * @example A backend of your own, picked by URL
 * ```ts
 * import { type BackendScheme, memoryBackend } from "@jobline/jobline";
 * const scheme: BackendScheme = {
 *   parse(url) {
 *     if (!url.startsWith("mine://")) throw new TypeError("not mine");
 *   },
 *   load: () => Promise.resolve(memoryBackend()),
 * };
 * ```
 */
export interface BackendScheme {
  /**
   * Checks a URL of this scheme without loading a driver; throws (a
   * ValidationError, ideally) when it is bad. Called by createQueue.
   */
  parse(url: string): unknown;
  /**
   * Loads the backend's module and makes a backend for a URL that `parse`
   * accepted. Called on the queue's first operation; the queue then owns
   * and closes the backend.
   */
  load(url: string): Promise<Backend>;
}

const table = new Map<string, BackendScheme>();

function builtin(
  schemes: string[],
  parse: (url: string) => unknown,
  load: (url: string) => Promise<Backend>,
): void {
  for (const scheme of schemes) table.set(scheme, { parse, load });
}

/**
 * Imports a built-in backend's module. The specifier is computed, not a
 * literal, on purpose: a type checker (`deno check` of an app that uses only
 * memory) and a bundler must not follow it into a database driver's types.
 * The extension follows this file's own, so the same line works on the
 * TypeScript sources and on the npm package's JavaScript.
 */
function importBackend<M>(name: string): Promise<M> {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return import(new URL(`../backends/${name}/mod${ext}`, import.meta.url).href);
}

type Factory<K extends string, O> = {
  [key in K]: (options: O) => Backend;
};

builtin(
  ["memory:"],
  parseMemoryUrl,
  async () =>
    (await importBackend<Factory<"memoryBackend", void>>("memory"))
      .memoryBackend(),
);
builtin(
  ["sqlite:"],
  parseSqliteUrl,
  async (url) =>
    (await importBackend<Factory<"sqliteBackend", { url: string }>>("sqlite"))
      .sqliteBackend({ url }),
);
builtin(
  ["redis:", "rediss:", "redis+cluster:"],
  parseRedisUrl,
  async (url) =>
    (await importBackend<Factory<"redisBackend", { url: string }>>("redis"))
      .redisBackend({ url }),
);
builtin(
  Object.keys(STREAMS_SCHEMES),
  parseRedisStreamsUrl,
  async (url) =>
    (await importBackend<Factory<"redisStreamsBackend", { url: string }>>(
      "redis_streams",
    )).redisStreamsBackend({ url }),
);
builtin(
  ["postgres:", "postgresql:"],
  parsePostgresUrl,
  async (url) =>
    (await importBackend<Factory<"postgresBackend", { url: string }>>(
      "postgres",
    )).postgresBackend({ url }),
);

const SCHEME = /^[a-z][a-z0-9+.-]*:$/;

/**
 * Adds (or replaces) the backend that URLs of a scheme pick, so that
 * `createQueue("mine://...")` makes it.
 *
 * @example
 * ```ts
 * import { createQueue, memoryBackend, registerBackend } from "@jobline/jobline";
 * registerBackend("scratch:", {
 *   parse(url) {
 *     if (url !== "scratch:") throw new TypeError(`bad URL ${url}`);
 *   },
 *   load: () => Promise.resolve(memoryBackend()),
 * });
 * await using queue = createQueue("scratch:");
 * await queue.enqueue("ping", null);
 * console.log((await queue.stats()).pending); // 1
 * ```
 *
 * @param scheme The scheme with its colon, lower case: "mine:".
 * @param entry How to check its URLs and load its backend.
 * @throws {ValidationError} when the scheme or the entry is malformed.
 */
export function registerBackend(scheme: string, entry: BackendScheme): void {
  if (typeof scheme !== "string" || !SCHEME.test(scheme)) {
    throw new ValidationError(
      `Cannot register backend as 'scheme' must be a lower-case URL scheme with its colon, like "mine:": current value is ${
        JSON.stringify(scheme)
      }`,
    );
  }
  if (
    entry === null || typeof entry !== "object" ||
    typeof entry.parse !== "function" || typeof entry.load !== "function"
  ) {
    throw new ValidationError(
      "Cannot register backend as 'entry' must be an object with parse(url) and load(url)",
    );
  }
  table.set(scheme, { parse: entry.parse, load: entry.load });
}

/**
 * The URL schemes createQueue understands now, built-in and registered.
 *
 * @example
 * ```ts
 * import { backendSchemes } from "@jobline/jobline";
 * console.log(backendSchemes().includes("sqlite:")); // true
 * ```
 *
 * @returns The schemes, with their colons, in registration order.
 */
export function backendSchemes(): string[] {
  return [...table.keys()];
}

/**
 * Checks a backend URL at once (so createQueue can throw synchronously) and
 * returns a loader that imports and builds the backend on first use.
 *
 * @param url The URL given to createQueue.
 * @returns The loader.
 * @throws {ValidationError} when no scheme matches or the URL is bad.
 */
export function backendLoader(url: string): () => Promise<Backend> {
  const scheme = typeof url === "string"
    ? /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0]?.toLowerCase()
    : undefined;
  const entry = scheme === undefined ? undefined : table.get(scheme);
  if (entry === undefined) {
    throw new ValidationError(
      `Cannot create a queue for ${
        JSON.stringify(url)
      }: the URL must start with one of ${backendSchemes().join(" ")}`,
    );
  }
  try {
    entry.parse(url);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(
      `Cannot create a queue for ${JSON.stringify(url)}: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { cause: err },
    );
  }
  return async () => {
    try {
      return await entry.load(url);
    } catch (err) {
      if (err instanceof ValidationError || err instanceof BackendError) {
        throw err;
      }
      throw new BackendError(
        `Cannot load the backend for ${scheme}: ${
          err instanceof Error ? err.message : String(err)
        }`,
        { cause: err },
      );
    }
  };
}
