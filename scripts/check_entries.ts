/**
 * Checks the package's entries as a user meets them: `deno doc --lint` over
 * every entry of deno.json (as JSR documents them, together), the repo's
 * package.json "exports" equal to deno.json's (the examples and the README
 * import `@jobline/jobline` through it on Node and Bun), and `deno check`
 * of a one-file app in a fresh folder that imports only the main entry, with
 * no `@types/node` and no node_modules anywhere near it (and its run, with
 * no permissions).
 *
 * It never edits a file of the repo.
 *
 * Run: deno task check:entries
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = join(root, "node_modules/.bin/deno");

/** The app: the Quick start, on the embedded memory backend. */
const APP =
  `import { createQueue, createWorker, subscribe } from "@jobline/jobline";

type Jobs = { resize: { url: string } };

await using queue = createQueue<Jobs>();
await using _worker = createWorker(queue, {
  resize: async (job, ctx) => {
    await ctx.progress(0.5, \`fetching \${job.data.url}\`);
    return { width: 640 };
  },
});
const id = await queue.enqueue("resize", { url: "a.png" });
for await (const update of subscribe(queue, id)) console.log(update.status);
`;

function run(what: string, cmd: string, args: string[], cwd = root): void {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`check:entries: ${what} failed\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  console.log(`check:entries: ${what}: ok`);
}

const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const packageJson = JSON.parse(
  readFileSync(join(root, "package.json"), "utf8"),
);
const entries: Record<string, string> = denoJson.exports;

if (JSON.stringify(packageJson.exports) !== JSON.stringify(entries)) {
  console.error(
    `check:entries: package.json "exports" must equal deno.json's:\n${
      JSON.stringify(entries, null, 2)
    }`,
  );
  process.exit(1);
}
if (packageJson.name !== denoJson.name) {
  console.error(`check:entries: package.json "name" must be ${denoJson.name}`);
  process.exit(1);
}

run(`deno doc --lint (${Object.keys(entries).join(" ")})`, deno, [
  "doc",
  "--lint",
  ...Object.values(entries),
]);

const dir = mkdtempSync(join(tmpdir(), "jobline-deno-app-"));
try {
  const main = pathToFileURL(join(root, entries["."]!)).href;
  writeFileSync(
    join(dir, "deno.json"),
    JSON.stringify({ imports: { "@jobline/jobline": main } }),
  );
  writeFileSync(join(dir, "app.ts"), APP);
  run("deno check of a memory-only app (no @types/node)", deno, [
    "check",
    "app.ts",
  ], dir);
  run("deno run of it, with no permissions", deno, [
    "run",
    "--no-prompt",
    "app.ts",
  ], dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
