/**
 * The PostgreSQL upgrade tests' old stores: a schema as the backend's first
 * migrations left it (`schemaAt`), and the version a schema is at
 * (`schemaVersion`), so that a test can fill an old store by hand, open
 * the backend on it and check that it upgraded.
 *
 * @module
 */

import type postgres from "postgres";
import {
  bootstrap,
  migrations,
} from "../../backends/postgres/sql_migrations.ts";

/** Makes `schema` with the first `version` migrations, in one transaction. */
export async function schemaAt(
  sql: postgres.Sql,
  schema: string,
  version: number,
): Promise<void> {
  await sql.begin(async (t) => {
    await t.unsafe(bootstrap(schema));
    for (const [i, m] of migrations(schema).slice(0, version).entries()) {
      await t.unsafe(m);
      await t.unsafe(
        `INSERT INTO ${schema}.migrations (version) VALUES (${i + 1})`,
      );
    }
  });
}

/** The last migration applied to `schema`. */
export async function schemaVersion(
  sql: postgres.Sql,
  schema: string,
): Promise<number> {
  const [row] = await sql.unsafe(
    `SELECT max(version)::int AS v FROM ${schema}.migrations`,
  );
  return row!.v as number;
}

/** How many migrations the backend has: the version of an upgraded store. */
export const LATEST: number = migrations("x").length;
