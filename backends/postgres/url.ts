/**
 * PostgreSQL URLs: `postgres://` and `postgresql://`, with an optional
 * `schema` query parameter that the backend takes for itself. Imports no
 * driver: the scheme table calls parsePostgresUrl when a queue is created.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";

/**
 * What a schema name may be: a plain, unquoted PostgreSQL identifier.
 *
 * @example
 * ```ts
 * import { SCHEMA } from "./url.ts";
 * console.log(SCHEMA.test("jobs"), SCHEMA.test("bad-name")); // true false
 * ```
 */
export const SCHEMA: RegExp = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks a PostgreSQL URL without connecting and splits `schema` off its
 * query (the driver must not see it).
 *
 * @example
 * ```ts
 * import { parsePostgresUrl } from "./url.ts";
 * const { url, schema } = parsePostgresUrl("postgres://localhost/app?schema=jobs");
 * console.log(url, schema); // "postgres://localhost/app" "jobs"
 * ```
 *
 * @param url `postgres://[user[:pass]@]host[:port]/db[?schema=jobs&...]`.
 * @returns The URL for the driver, and the schema when the URL names one.
 * @throws {ValidationError} when the URL is malformed.
 */
export function parsePostgresUrl(
  url: string,
): { url: string; schema: string | undefined } {
  const bad = (why: string) =>
    new ValidationError(
      `Cannot create postgres backend as 'url' ${why}: current value is ${
        JSON.stringify(url)
      }`,
    );
  if (typeof url !== "string" || !/^postgres(ql)?:\/\//i.test(url)) {
    throw bad("must start with postgres:// or postgresql://");
  }
  try {
    new URL(url);
  } catch {
    throw bad("must be a URL like postgres://user@host:5432/db");
  }
  const q = url.indexOf("?");
  if (q < 0) return { url, schema: undefined };
  const params = new URLSearchParams(url.slice(q + 1));
  const schema = params.get("schema") ?? undefined;
  if (schema !== undefined && !SCHEMA.test(schema)) {
    throw bad("must name a schema of [A-Za-z_][A-Za-z0-9_]* (63 at most)");
  }
  params.delete("schema");
  const rest = params.toString();
  return { url: url.slice(0, q) + (rest ? `?${rest}` : ""), schema };
}
