/**
 * The npm package's CI, as a new user meets it: builds `npm/`
 * (build_npm.ts), packs it, installs the tarball and the optional peers
 * (redis, postgres, fast-check) into a fresh project in a temp folder, and
 * there
 *
 * - runs `npm_smoke/smoke.mjs` on Node 22, Node 24 and Bun: every entry
 *   loads, and jobs run through createQueue, createWorker and subscribe on
 *   memory, a SQLite file, and Redis and PostgreSQL servers that it starts
 *   (tests/_support) when they are installed;
 * - type-checks `npm_smoke/app.ts` (every entry) with `tsc --noEmit`,
 *   module nodenext and no `@types/node`, and `npm_smoke/main.ts` (the main
 *   entry) with skipLibCheck off.
 *
 * It prints the package's size and file count and one line per runtime,
 * and exits non-zero on any failure. It never publishes anything.
 *
 * Run: deno task test:npm
 *
 * @module
 */

import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildNpm } from "./build_npm.ts";
import {
  redisInstalled,
  type RedisServer,
  startRedis,
} from "../tests/_support/redis_server.ts";
import {
  postgresInstalled,
  type PostgresServer,
  startPostgres,
} from "../tests/_support/postgres_server.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(root, "scripts/npm_smoke");

/** The runtimes the smoke runs on: all from npm (package.json). */
const RUNTIMES: [label: string, bin: string][] = [
  ["Node 22", join(root, "node_modules/node22/bin/node")],
  ["Node 24", join(root, "node_modules/.bin/node")],
  ["Bun", join(root, "node_modules/.bin/bun")],
];

function sh(
  what: string,
  cmd: string,
  args: string[],
  cwd: string,
): SpawnSyncReturns<string> {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n` +
        `${r.stdout}${r.stderr}`,
    );
  }
  console.log(`test:npm: ${what}: ok (${Date.now() - started} ms)`);
  return r;
}

/** Packs npm/ into `dir`; returns the tarball's path. */
function pack(dir: string): string {
  const r = sh("npm pack", "npm", [
    "pack",
    "--json",
    "--pack-destination",
    dir,
  ], join(root, "npm"));
  const [info] = JSON.parse(r.stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
  }[];
  if (!info) throw new Error(`npm pack said: ${r.stdout}`);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `test:npm: ${info.filename}: ${kib(info.size)} packed, ` +
      `${kib(info.unpackedSize)} unpacked, ${info.entryCount} files`,
  );
  return join(dir, info.filename);
}

/** A fresh project with the tarball and the peers installed. */
function project(
  dir: string,
  tarball: string,
  peers: Record<string, string>,
): string {
  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "smoke-app", private: true, type: "module" }),
  );
  for (const f of readdirSync(fixtures)) {
    copyFileSync(join(fixtures, f), join(app, f));
  }
  const specs = Object.entries(peers).map(([name, range]) =>
    `${name}@${range}`
  );
  sh("npm install of the tarball and its peers", "npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    tarball,
    ...specs,
  ], app);
  return app;
}

async function main(): Promise<void> {
  const pkg = buildNpm();
  const dir = mkdtempSync(join(tmpdir(), "jobline-npm-smoke-"));
  let redis: RedisServer | undefined;
  let pg: PostgresServer | undefined;
  try {
    const app = project(
      dir,
      pack(dir),
      pkg.peerDependencies as Record<string, string>,
    );
    const servers: string[] = [];
    if (redisInstalled()) servers.push((redis = await startRedis()).url);
    else console.log("test:npm: Redis left out: redis-server is not installed");
    if (postgresInstalled()) servers.push((pg = await startPostgres()).url);
    else console.log("test:npm: PostgreSQL left out: it is not installed");
    for (const [label, bin] of RUNTIMES) {
      const file = `sqlite://${app}/smoke-${label.replace(" ", "")}.db`;
      const urls = ["memory:", file, ...servers];
      const r = sh(`smoke on ${label}`, bin, ["smoke.mjs", ...urls], app);
      for (const line of r.stdout.trim().split("\n")) {
        console.log(`test:npm:   ${line}`);
      }
    }
    const tsc = join(root, "node_modules/.bin/tsc");
    sh("tsc --noEmit of a project using every entry", tsc, ["-p", "."], app);
    sh("tsc --noEmit of the main entry, skipLibCheck off", tsc, [
      "-p",
      "tsconfig.strict.json",
    ], app);
  } finally {
    await redis?.destroy();
    pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  console.error(`test:npm: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
