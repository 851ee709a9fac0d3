/**
 * PostgreSQL URLs: what parsePostgresUrl accepts and splits off, and that
 * createQueue rejects a malformed one with a ValidationError at once,
 * before anything connects. No server is needed.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
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
