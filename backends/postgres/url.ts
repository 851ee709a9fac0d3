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
 * Names of system schemas, which a backend must never use:
 * `information_schema`, and every name that starts with `pg_` (PostgreSQL
 * reserves them: `pg_catalog`, `pg_toast`, ...), in any case (the schema is
 * quoted, so `PG_CATALOG` would be a new schema that reads like the system
 * one).
 *
 * @example
 * ```ts
 * import { SYSTEM_SCHEMA } from "./url.ts";
 * console.log(SYSTEM_SCHEMA.test("pg_catalog"), SYSTEM_SCHEMA.test("jobs")); // true false
 * ```
 */
export const SYSTEM_SCHEMA: RegExp = /^(?:information_schema$|pg_)/i;

/**
 * Why a URL's schema is refused, as the end of a ValidationError message,
 * or undefined when it is fine (mod.ts words its own for the options).
 */
function schemaIssue(schema: string): string | undefined {
  if (!SCHEMA.test(schema)) {
    return "must name a schema of [A-Za-z_][A-Za-z0-9_]* (63 at most)";
  }
  if (SYSTEM_SCHEMA.test(schema)) {
    return "must not name a system schema (information_schema or pg_*)";
  }
  return undefined;
}

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
 * @throws {ValidationError} when the URL is malformed or names a schema
 *   that is not a plain identifier or is a system schema.
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
  const issue = schema === undefined ? undefined : schemaIssue(schema);
  if (issue !== undefined) throw bad(issue);
  params.delete("schema");
  const rest = params.toString();
  return { url: url.slice(0, q) + (rest ? `?${rest}` : ""), schema };
}
