import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const DRIVER =
  /^(redis|@redis\/.*|postgres|node:sqlite|bun:sqlite)$|backends\/(sqlite|redis|postgres)\/mod\.ts$/;

/** Runs the fixture under Node 24 with the import recorder; returns what it resolved. */
function importsOf(args: string[]): { imports: string[]; stdout: string } {
  const run = spawnSync(
    `${root}node_modules/.bin/node`,
    [
      "--import",
      "./tests/fixtures/record_imports.mjs",
      "tests/fixtures/memory_only.ts",
      ...args,
    ],
    { cwd: root, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const line = run.stdout.split("\n").find((l) => l.startsWith("IMPORTS "));
  assert.ok(line, `no import record in: ${run.stdout}`);
  return { imports: JSON.parse(line.slice(8)), stdout: run.stdout };
}

describe("lazy loading", () => {
  test("a process that uses only the memory backend loads no database driver", () => {
    const { imports, stdout } = importsOf([]);
    assert.match(stdout, /result world/);
    assert.ok(
      imports.some((s) => s.endsWith("mod.ts")),
      "the recorder saw the project load",
    );
    assert.deepEqual(imports.filter((s) => DRIVER.test(s)), []);
  });

  test("a sqlite URL loads its backend only when used", () => {
    const { imports, stdout } = importsOf(["sqlite::memory:"]);
    assert.match(stdout, /result world/);
    assert.ok(
      imports.includes("node:sqlite"),
      `node:sqlite not loaded: ${imports.join(" ")}`,
    );
  });
});
