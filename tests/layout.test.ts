/**
 * The layout rules of ARCHITECTURE.md, checked on the sources: no import
 * circle among the modules, and `src/` reaches a backend only through the
 * scheme table (src/schemes.ts). Reads files; runs none of them.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** Every .ts file under `dir`, relative to the repo. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The relative modules a file imports or re-exports (types included). */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found: string[] = [];
  for (
    const m of text.matchAll(
      /^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms,
    )
  ) {
    found.push(relative(root, join(root, dirname(file), m[1]!)));
  }
  return found;
}

const files = [...sources("src"), ...sources("backends"), "mod.ts"];
const graph = new Map(files.map((f) => [f, imports(f)]));

describe("layout", () => {
  test("no module of src/ or backends/ is part of an import circle", () => {
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      state.set(file, "open");
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === "open") {
          circles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        } else if (!state.has(next) && graph.has(next)) {
          visit(next, [...path, next]);
        }
      }
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file, [file]);
    assert.deepEqual(circles, []);
  });

  test("src/ imports a backend module only in the scheme table", () => {
    const reaching = files.filter((f) =>
      f.startsWith("src") && f !== join("src", "schemes.ts") &&
      graph.get(f)!.some((d) => d.startsWith("backends"))
    );
    assert.deepEqual(reaching, []);
  });
});
