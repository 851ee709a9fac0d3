/**
 * The first step of `deno task ci`: checks in a moment that this machine has
 * what the tests need beyond `npm ci` (redis-server and redis-cli, and
 * PostgreSQL 15's initdb and pg_ctl, which the tests start on free ports;
 * Chromium, which the dashboard's browser tests drive headless)
 * and that `npm ci` ran. If anything is missing it stops with one message
 * naming each missing thing and the command that installs it, before any
 * test runs. `bash .ci/run` installs all of it.
 *
 * It installs nothing and starts nothing.
 *
 * Run: deno task prerequisites
 *
 * @module
 */

import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { PG_BIN } from "../tests/_support/postgres_server.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** True when `name` is an executable file in a folder of PATH. */
function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) =>
    dir !== "" && existsSync(join(dir, name))
  );
}

const missing: string[] = [];
const absent = (names: string[]) => names.filter((n) => !onPath(n));

const redis = absent(["redis-server", "redis-cli"]);
if (redis.length > 0) {
  missing.push(
    `${redis.join(" and ")} (Redis 7, for the Redis tests): ` +
      "apt-get install redis-server (macOS: brew install redis)",
  );
}
const pg = ["initdb", "pg_ctl"].filter((n) => !existsSync(join(PG_BIN, n)));
if (pg.length > 0) {
  missing.push(
    `PostgreSQL 15's ${pg.join(" and ")} in ${PG_BIN} (for the PostgreSQL ` +
      "tests; JOBLINE_PG_BIN names another folder): " +
      "apt-get install postgresql-15",
  );
}
if (process.getuid?.() === 0 && pg.length === 0 && !onPath("runuser")) {
  missing.push(
    "runuser (the PostgreSQL tests run initdb as the postgres user when " +
      "run as root): apt-get install util-linux",
  );
}
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  missing.push(
    `Chromium at ${chromium} (for the dashboard's browser tests; CHROMIUM ` +
      "names another binary): apt-get install chromium",
  );
}
const bins = ["deno", "node", "bun", "tsc"].map((b) => `node_modules/.bin/${b}`)
  .concat("node_modules/node22/bin/node")
  .filter((b) => !existsSync(join(root, b)));
if (bins.length > 0) {
  missing.push(`${bins.join(", ")}: npm ci`);
}

if (missing.length > 0) {
  console.error(
    [
      "deno task ci: this machine lacks what the tests need:",
      ...missing.map((m) => `  - ${m}`),
      "Install them (apt-get as root, or with sudo), or run `bash .ci/run`, " +
      "which installs them and then runs `deno task ci`.",
    ].join("\n"),
  );
  process.exit(1);
}
console.log(
  "prerequisites: redis-server, PostgreSQL 15, Chromium and node_modules: ok",
);
