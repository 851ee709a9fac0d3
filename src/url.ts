/**
 * Backend URLs: picks the backend module a URL names and loads it only when
 * the queue first needs it, so the main entry never loads a database driver
 * that is not used.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { BackendError, ValidationError } from "./errors.ts";
import { memoryBackend } from "../backends/memory.ts";
import { parseSqliteUrl } from "../backends/_sqlite_url.ts";

/** The URL schemes createQueue understands. */
export const URL_SCHEMES: readonly string[] = [
  "memory:",
  "sqlite:",
  "redis:",
  "rediss:",
  "redis+cluster:",
  "postgres:",
  "postgresql:",
];

/**
 * Checks a backend URL at once (so createQueue can throw synchronously) and
 * returns a loader that imports and builds the backend on first use.
 */
export function backendLoader(url: string): () => Promise<Backend> {
  const scheme = typeof url === "string"
    ? /^[a-z+]+:/i.exec(url)?.[0]
    : undefined;
  if (!scheme || !URL_SCHEMES.includes(scheme.toLowerCase())) {
    throw new ValidationError(
      `Cannot create a queue for ${
        JSON.stringify(url)
      }: the URL must start with one of ${URL_SCHEMES.join(" ")}`,
    );
  }
  switch (scheme.toLowerCase()) {
    case "memory:":
      return () => Promise.resolve(memoryBackend());
    case "sqlite:":
      parseSqliteUrl(url); // driver-free: a bad sqlite URL throws at once
      return load(
        "sqlite",
        async () =>
          (await import("../backends/sqlite.ts")).sqliteBackend({ url }),
      );
    case "postgres:":
    case "postgresql:":
      return load(
        "postgres",
        async () =>
          (await import("../backends/postgres.ts")).postgresBackend({ url }),
      );
    default:
      return load(
        "redis",
        async () =>
          (await import("../backends/redis.ts")).redisBackend({ url }),
      );
  }
}

function load(
  name: string,
  make: () => Promise<Backend>,
): () => Promise<Backend> {
  return async () => {
    try {
      return await make();
    } catch (err) {
      if (err instanceof ValidationError || err instanceof BackendError) {
        throw err;
      }
      throw new BackendError(
        `Cannot load the ${name} backend: ${
          err instanceof Error ? err.message : String(err)
        }`,
        { cause: err },
      );
    }
  };
}
