/**
 * Builds the npm package `jobline` into `npm/` from the sources of the JSR
 * package. The TypeScript compiler turns every entry of deno.json's
 * "exports" (and what they import) into ES modules with `.d.ts` files and
 * source maps, in the repo's own layout; this script writes the
 * package.json (an exports map of the same entries, the npm drivers as
 * optional peer dependencies, what the library loads on first use, croner,
 * as a dependency, engines, deno.json's version) and copies
 * README.md and LICENSE. It checks that the main entry imports no npm
 * package and that no compiled import still ends in `.ts`.
 *
 * It never edits a source file and bundles nothing.
 *
 * Run: deno task build:npm (or node_modules/.bin/node scripts/build_npm.ts)
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * The Node.js releases the whole package runs on (README, "Node 22"): the
 * memory, Redis and PostgreSQL backends run on any Node 22, but SQLite's
 * numbered parameters (`?1`) fail with "column index out of range" before
 * Node 22.20 and 24.7.
 */
export const NODE_ENGINES = "^22.20.0 || >=24.7.0";

/** The npm package's name (SPEC §11); JSR's is deno.json's. */
const NPM_NAME = "jobline";

const KEYWORDS = ["job queue", "queue", "worker", "jobs", "sqlite", "redis"];

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "npm");

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  compilerOptions: Record<string, unknown>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(root, path), "utf8")) as T;
}

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile());
}

/** `./backends/sqlite/mod.ts` -> `./backends/sqlite/mod` */
function stem(path: string): string {
  return path.replace(/\.ts$/, "");
}

/** Compiles the entries with tsc into `out`; exits on a compile error. */
function compile(deno: DenoJson): void {
  const dir = mkdtempSync(join(tmpdir(), "jobline-npm-"));
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        ...deno.compilerOptions,
        target: "es2023",
        module: "nodenext",
        moduleResolution: "nodenext",
        rewriteRelativeImportExtensions: true,
        declaration: true,
        sourceMap: true,
        inlineSources: true,
        noEmitOnError: true,
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [join(root, "node_modules/@types")],
        rootDir: root,
        outDir: out,
      },
      files: Object.values(deno.exports).map((p) => join(root, p)),
    }),
  );
  const tsc = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", tsconfig], {
    stdio: "inherit",
  });
  rmSync(dir, { recursive: true, force: true });
  if (tsc.status !== 0) {
    console.error("build:npm: tsc failed");
    process.exit(1);
  }
}

/** A relative `.ts` specifier of a statement at the start of a line or of an `import("...")` type. */
const RELATIVE_TS =
  /^((?:import|export)\s[^;]*?["'])(\.{1,2}\/[^"']+)\.ts(["'])|(import\(["'])(\.{1,2}\/[^"']+)\.ts(["']\))/gm;

/**
 * tsc rewrites `.ts` to `.js` in the JavaScript but keeps `.ts` in the
 * declarations (microsoft/TypeScript#61037); `.js` there is what every
 * version of tsc and every editor resolves. Examples in comments keep
 * their text.
 */
function fixDeclarations(files: string[]): void {
  for (const file of files.filter((f) => f.endsWith(".d.ts"))) {
    const path = join(out, file);
    const text = readFileSync(path, "utf8");
    const fixed = text.replace(
      RELATIVE_TS,
      (_, a, b, c, d, e, f) => a ? `${a}${b}.js${c}` : `${d}${e}.js${f}`,
    );
    if (fixed !== text) writeFileSync(path, fixed);
  }
  for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
    const left = readFileSync(join(out, file), "utf8").match(RELATIVE_TS);
    if (left) throw new Error(`${file} still imports ${left[0]}`);
  }
}

/**
 * Source maps name their TypeScript as if it sat beside the JavaScript in
 * the package (its text is inlined), not by a path into this repo.
 */
function fixSourceMaps(files: string[]): void {
  for (const file of files.filter((f) => f.endsWith(".js.map"))) {
    const path = join(out, file);
    const map = JSON.parse(readFileSync(path, "utf8")) as { sources: string[] };
    map.sources = map.sources.map((source) =>
      relative(
        dirname(path),
        join(out, relative(root, resolve(dirname(path), source))),
      )
    );
    writeFileSync(path, JSON.stringify(map));
  }
}

/** A static import or re-export at the start of a line (tsc's output). */
const IMPORT =
  /^(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|^import\s*["']([^"']+)["']/gm;

/** The bare (npm) specifiers that a compiled file's static graph reaches. */
function npmImportsOf(entry: string, seen = new Set<string>()): Set<string> {
  const found = new Set<string>();
  if (seen.has(entry)) return found;
  seen.add(entry);
  const text = readFileSync(entry, "utf8");
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? "";
    if (spec.startsWith(".")) {
      for (const s of npmImportsOf(join(dirname(entry), spec), seen)) {
        found.add(s);
      }
    } else if (!spec.startsWith("node:")) found.add(spec);
  }
  return found;
}

/** A bare specifier of a dynamic `import("...")` in compiled JavaScript. */
const DYNAMIC = /\bimport\(\s*["']([^"'./][^"']*)["']\s*\)/g;

/**
 * The npm packages the library loads on first use with `import("...")`
 * (croner, for cron schedules): real dependencies, installed with the
 * package, unlike the drivers that users pick (optional peers). The
 * backends' own modules are loaded by a computed specifier, not a bare one.
 */
function dynamicImports(files: string[]): Set<string> {
  const found = new Set<string>();
  for (const file of files.filter((f) => f.endsWith(".js"))) {
    for (const m of readFileSync(join(out, file), "utf8").matchAll(DYNAMIC)) {
      if (!m[1]!.startsWith("node:")) found.add(m[1]!);
    }
  }
  return found;
}

/** npm packages the sources import, with their ranges, from deno.json. */
function npmRanges(deno: DenoJson): Record<string, string> {
  const ranges: Record<string, string> = {};
  for (const [name, target] of Object.entries(deno.imports)) {
    const m = /^npm:(@?[^@]+)@(.+)$/.exec(target);
    if (m && m[1] === name) ranges[name] = m[2]!;
  }
  return ranges;
}

function packageJson(deno: DenoJson, files: string[]): Record<string, unknown> {
  const description =
    readJson<{ description?: string }>("package.json").description;
  const exports: Record<string, { types: string; default: string }> = {};
  const peers: Record<string, string> = {};
  const ranges = npmRanges(deno);
  for (const [name, path] of Object.entries(deno.exports)) {
    exports[name] = {
      types: `${stem(path)}.d.ts`,
      default: `${stem(path)}.js`,
    };
    const used = npmImportsOf(join(out, `${stem(path)}.js`));
    if (name === "." && used.size > 0) {
      throw new Error(`the main entry imports npm packages: ${[...used]}`);
    }
    for (const spec of used) {
      const pkg = spec.startsWith("@")
        ? spec.split("/").slice(0, 2).join("/")
        : spec.split("/")[0]!;
      const range = ranges[pkg];
      if (range === undefined) {
        throw new Error(`${name} imports ${pkg}, which deno.json does not map`);
      }
      peers[pkg] = range;
    }
  }
  for (const [name, { default: js }] of Object.entries(exports)) {
    if (!files.includes(js.slice(2))) throw new Error(`${name}: no ${js}`);
  }
  const cli = deno.exports["./cli"];
  const dependencies: Record<string, string> = {};
  for (const pkg of [...dynamicImports(files)].sort()) {
    const range = ranges[pkg];
    if (range === undefined) {
      throw new Error(`the library loads ${pkg}, which deno.json does not map`);
    }
    dependencies[pkg] = range;
    delete peers[pkg];
  }
  const sorted = Object.keys(peers).sort();
  return {
    name: NPM_NAME,
    version: deno.version,
    description,
    license: deno.license,
    type: "module",
    main: exports["."]!.default,
    types: exports["."]!.types,
    exports,
    ...(cli ? { bin: { jobline: `${stem(cli)}.js` } } : {}),
    engines: { node: NODE_ENGINES },
    dependencies,
    peerDependencies: Object.fromEntries(sorted.map((p) => [p, peers[p]])),
    peerDependenciesMeta: Object.fromEntries(
      sorted.map((p) => [p, { optional: true }]),
    ),
    keywords: [...KEYWORDS, "postgres", "deno", "bun"],
  };
}

/**
 * The `jobline` bin runs with Node: its first line says so, in place of the
 * source's own shebang if it has one.
 */
function nodeShebang(bin: string): void {
  const path = join(out, bin);
  const text = readFileSync(path, "utf8");
  const body = text.startsWith("#!")
    ? text.slice(text.indexOf("\n") + 1)
    : text;
  writeFileSync(path, `#!/usr/bin/env node\n${body}`);
  chmodSync(path, 0o755);
}

/** Builds npm/ and returns its package.json. */
export function buildNpm(): Record<string, unknown> {
  const deno = readJson<DenoJson>("deno.json");
  rmSync(out, { recursive: true, force: true });
  compile(deno);
  const files = walk(out);
  fixDeclarations(files);
  fixSourceMaps(files);
  const pkg = packageJson(deno, files);
  const bin = (pkg.bin as Record<string, string> | undefined)?.[NPM_NAME];
  if (bin !== undefined) nodeShebang(bin);
  writeFileSync(join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  copyFileSync(join(root, "README.md"), join(out, "README.md"));
  copyFileSync(join(root, "LICENSE"), join(out, "LICENSE"));
  const bytes = walk(out).reduce((n, f) => n + statSync(join(out, f)).size, 0);
  console.log(
    `build:npm: ${
      relative(process.cwd(), out) || "."
    }/ ${pkg.name}@${pkg.version}, ` +
      `${files.length + 3} files, ${(bytes / 1024).toFixed(0)} KiB`,
  );
  return pkg;
}

if (import.meta.main) buildNpm();
