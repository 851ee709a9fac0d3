/**
 * The README's code runs as written. Every ```ts block is saved as a module
 * in a scratch folder inside the repo (so `@jobline/jobline` resolves to
 * these sources, through deno.json on Deno and package.json's "exports" on
 * Node and Bun) and run by the runtime that runs this test; under Deno the
 * blocks are type-checked too. A block that starts with
 * `// examples/NAME.ts` must be that file, less its header comment
 * (tests/examples.test.ts runs the examples). A block that calls
 * testBackend runs under the runtime's test runner. The blocks under "Node
 * 22" also run on Node 22. A block that names `postgres://localhost/app`
 * or `redis://localhost:6379` (or `redis+streams://localhost:6379`) runs
 * against a throwaway server put at that
 * address's place. A block with `handleSignals: {` is a worker that runs
 * until it is told to stop: it must still run after a while, then end
 * cleanly on SIGTERM.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";
import { type RedisServer, startRedis } from "./_support/redis_server.ts";
import { runFile, runtime, startFile, terminate } from "./_support/run_file.ts";
import { sleep } from "./_support/time.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const scratch = join(root, ".tmp", `readme-${runtime}-${process.pid}`);
const PG_PLACEHOLDER = "postgres://localhost/app";
const REDIS_PLACEHOLDER = "redis://localhost:6379";
const STREAMS_PLACEHOLDER = "redis+streams://localhost:6379";
/** A worker block, running until SIGTERM. */
const RUNS_UNTIL_STOPPED = "handleSignals: {";

/** One ```ts block of the README. */
interface Block {
  /** The line of its opening fence. */
  line: number;
  /** The heading it is under. */
  heading: string;
  code: string;
}

/** The ```ts blocks of a markdown text, with their indentation removed. */
function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const h = /^#+\s+(.*)$/.exec(lines[i]!);
    if (h) heading = h[1]!;
    const open = /^(\s*)```ts\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const code: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) {
      code.push(lines[j]!.slice(indent));
    }
    blocks.push({ line: i + 1, heading, code: code.join("\n") + "\n" });
    i = j;
  }
  return blocks;
}

/** A file's code less its leading `/** ... *\/` header and blank lines. */
function withoutHeader(text: string): string {
  return text.replace(/^\/\*\*[\s\S]*?\*\/\s*/, "");
}

const blocks = tsBlocks(readFileSync(join(root, "README.md"), "utf8"));
const EXAMPLE = /^\/\/ (examples\/[\w.-]+\.ts)\n/;
let pg: PostgresServer | undefined;
let redis: RedisServer | undefined;

mkdirSync(scratch, { recursive: true });
after(async () => {
  pg?.destroy();
  await redis?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** Writes a block as a module of the scratch folder; returns its name. */
async function save(block: Block): Promise<string> {
  let code = block.code;
  if (code.includes(PG_PLACEHOLDER)) {
    pg ??= await startPostgres();
    code = code.replaceAll(PG_PLACEHOLDER, pg.url);
  }
  if (code.includes(REDIS_PLACEHOLDER) || code.includes(STREAMS_PLACEHOLDER)) {
    redis ??= await startRedis();
    code = code.replaceAll(REDIS_PLACEHOLDER, redis.url).replaceAll(
      STREAMS_PLACEHOLDER,
      redis.url.replace("redis://", "redis+streams://"),
    );
  }
  const test = code.includes("testBackend(") ? ".test" : "";
  const name = `block_${block.line}${test}.ts`;
  writeFileSync(join(scratch, name), code);
  return name;
}

function describeRun(
  r: { code: number | null; stdout: string; stderr: string },
) {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

describe("README", () => {
  test("has the code blocks this test expects", () => {
    assert.ok(blocks.length >= 10, `only ${blocks.length} ts blocks`);
    assert.ok(blocks.some((b) => b.heading === "Quick start"));
    assert.ok(blocks.some((b) => b.heading === "Node 22"));
  });

  for (const block of blocks) {
    const where = `${block.heading} (line ${block.line})`;
    const example = EXAMPLE.exec(block.code)?.[1];
    if (example !== undefined) {
      test(`the block of ${where} is ${example} as it is`, () => {
        const file = readFileSync(join(root, example), "utf8");
        assert.equal(
          block.code.replace(EXAMPLE, ""),
          withoutHeader(file),
          `README.md line ${block.line} and ${example} differ`,
        );
      });
      continue;
    }
    if (block.code.includes(RUNS_UNTIL_STOPPED)) {
      test(`the block of ${where} runs until SIGTERM, then ends cleanly`, async () => {
        const started = startFile(await save(block), { cwd: scratch });
        const early = await Promise.race([started.exit, sleep(1_500)]);
        const output = () =>
          `${started.lines().join("\n")}\n${started.stderr()}`;
        assert.equal(early, undefined, `it ended by itself: ${output()}`);
        assert.ok(await terminate(started), output());
        assert.equal(started.stderr(), "", output());
      });
      continue;
    }
    test(`the block of ${where} runs as written`, async () => {
      const name = await save(block);
      const r = await runFile(name, {
        cwd: scratch,
        asTest: name.endsWith(".test.ts"),
      });
      assert.equal(r.code, 0, describeRun(r));
      if (block.heading === "Node 22") {
        const bin = join(root, "node_modules/node22/bin/node");
        const r22 = await runFile(name, { cwd: scratch, bin });
        assert.equal(r22.code, 0, `on Node 22: ${describeRun(r22)}`);
      }
    });
  }

  if (runtime === "deno") {
    test("every block type-checks (deno check)", () => {
      const names = blocks.filter((b) => !EXAMPLE.test(b.code)).map((b) =>
        `block_${b.line}${b.code.includes("testBackend(") ? ".test" : ""}.ts`
      );
      const r = spawnSync(process.execPath, ["check", ...names], {
        cwd: scratch,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  }
});
