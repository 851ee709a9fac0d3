/**
 * What a SQLite URL or path may name: a file (or ":memory:"), never a SQLite
 * URI (`file:...`, whose parameters such as `mode=memory` would silently
 * move the jobs elsewhere) and never a directory; both refused with a
 * ValidationError at once, by createQueue and by sqliteBackend().
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { ValidationError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-paths-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Asserts a ValidationError whose message names `what`. */
function refuses(fn: () => unknown, what: string): void {
  assert.throws(
    fn,
    (err: unknown) =>
      err instanceof ValidationError && err.message.includes(what),
    what,
  );
}

describe("sqlite paths", () => {
  test("a SQLite URI in a URL is refused by createQueue and sqliteBackend", () => {
    const file = join(dir, "uri.db");
    for (
      const url of [
        `sqlite://file:${file}%3Fmode%3Dmemory`,
        `sqlite://file:${file}`,
        `sqlite://file%3A${file}`,
        "sqlite://file:jobs.db",
        "sqlite://file::memory:",
        "sqlite://FILE:jobs.db",
      ]
    ) {
      refuses(() => createQueue(url), JSON.stringify(url));
      refuses(() => sqliteBackend({ url }), JSON.stringify(url));
    }
  });

  test("a SQLite URI as a path is refused by sqliteBackend", () => {
    for (
      const path of [
        `file:${join(dir, "uri.db")}?mode=memory`,
        "file:jobs.db",
        "file::memory:?cache=shared",
        "File:jobs.db",
      ]
    ) {
      refuses(() => sqliteBackend({ path }), JSON.stringify(path));
    }
  });

  test("a file whose name starts with file: is reached by ./ and persists", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const url = "sqlite://./file:jobs.db";
      const backend = sqliteBackend({ url });
      assert.equal(backend.capabilities.persistence, true);
      const first = createQueue({ backend });
      const id = await first.enqueue("t", { kept: true });
      await first.close();
      await backend.close();
      await using again = createQueue(url);
      assert.deepEqual((await again.get(id))?.data, { kept: true });
    } finally {
      process.chdir(cwd);
    }
  });

  test("a directory is refused at once by createQueue and sqliteBackend", () => {
    const sub = join(dir, "a-directory");
    mkdirSync(sub);
    for (const path of [dir, sub, `${sub}/.`, `${sub}/..`]) {
      const url = `sqlite://${path}`;
      refuses(() => createQueue(url), JSON.stringify(url));
      refuses(() => createQueue(url), "directory");
      refuses(() => sqliteBackend({ url }), "directory");
      refuses(() => sqliteBackend({ path }), JSON.stringify(path));
      refuses(() => sqliteBackend({ path }), "directory");
    }
    refuses(() => createQueue("sqlite:///tmp"), "directory");
  });

  test("a missing file in an existing directory is still fine", async () => {
    const path = join(dir, "new.db");
    const backend = sqliteBackend({ path });
    await using queue = createQueue({ backend });
    await queue.enqueue("t", null);
    assert.equal((await queue.stats()).pending, 1);
    await backend.close();
  });
});
