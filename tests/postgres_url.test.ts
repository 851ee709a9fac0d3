/**
 * PostgreSQL URLs and schema names: what parsePostgresUrl accepts and
 * splits off, and that createQueue and postgresBackend reject a malformed
 * URL or a system schema with a ValidationError at once, before anything
 * connects. No server is needed.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { parsePostgresUrl } from "../backends/postgres/url.ts";
import { createQueue, ValidationError } from "../mod.ts";

describe("postgres URLs", () => {
  test("createQueue(url) throws a ValidationError at once for a bad postgres URL", () => {
    for (
      const url of [
        "postgres:/x",
        "postgresql:localhost/db",
        "postgres://[bad/db",
        "postgres://localhost/db?schema=bad-name",
        "postgresql://localhost/db?schema=1st",
        `postgres://localhost/db?schema=${"s".repeat(64)}`,
      ]
    ) {
      assert.throws(() => createQueue(url), ValidationError, url);
    }
  });

  test("createQueue(url) takes a good postgres URL, and nothing connects until it is used", async () => {
    for (
      const url of [
        // Nothing listens on port 1: a connection would fail.
        "postgres://user:secret@127.0.0.1:1/db?schema=jobs&sslmode=disable",
        "postgresql://127.0.0.1:1/db",
      ]
    ) {
      const q = createQueue(url, { name: "urls" });
      await q.close();
    }
  });

  test("a system schema is refused with a ValidationError, in the URL and in the options", () => {
    const system = [
      "information_schema",
      "pg_catalog",
      "pg_toast",
      "pg_temp_1",
      "pg_jobs",
      "PG_CATALOG",
      "Information_Schema",
    ];
    const refused = (err: unknown) =>
      err instanceof ValidationError && /system schema/.test(err.message);
    for (const schema of system) {
      const url = `postgres://127.0.0.1:1/db?schema=${schema}`;
      assert.throws(() => parsePostgresUrl(url), refused, url);
      assert.throws(() => createQueue(url), refused, url);
      assert.throws(
        () => postgresBackend({ url: "postgres://127.0.0.1:1/db", schema }),
        refused,
        schema,
      );
      // A client of the user's is refused before it is used.
      const sql = {
        unsafe: () => assert.fail("used"),
      } as unknown as NonNullable<
        Parameters<typeof postgresBackend>[0]["sql"]
      >;
      assert.throws(() => postgresBackend({ sql, schema }), refused, schema);
    }
  });

  test("names that only look like system schemas are taken", async () => {
    for (
      const schema of ["pg", "pgjobs", "jobs_pg_", "_pg_catalog", "information"]
    ) {
      const q = createQueue(`postgres://127.0.0.1:1/db?schema=${schema}`, {
        name: "urls",
      });
      await q.close();
      await postgresBackend({ url: "postgres://127.0.0.1:1/db", schema })
        .close();
    }
  });

  test("parsePostgresUrl splits the schema off the URL the driver sees", () => {
    assert.deepEqual(
      parsePostgresUrl("postgres://h/db?schema=jobs&sslmode=disable"),
      { url: "postgres://h/db?sslmode=disable", schema: "jobs" },
    );
    assert.deepEqual(parsePostgresUrl("postgres://h/db?schema=jobs"), {
      url: "postgres://h/db",
      schema: "jobs",
    });
    assert.deepEqual(parsePostgresUrl("postgresql://h/db"), {
      url: "postgresql://h/db",
      schema: undefined,
    });
  });
});
