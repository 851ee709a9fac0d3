/**
 * SQLite: one file shared by two processes. This process enqueues jobs and
 * watches them; a child process (the same file, run with "worker") does the
 * work. Progress made in the child reaches this process's subscribe().
 *
 * Run: deno run -A examples/sqlite.ts (or node / bun)
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createQueue, createWorker, subscribe } from "@jobline/jobline";
import { sqliteBackend } from "@jobline/jobline/sqlite";

const path = process.argv[3] ??
  `${process.env.TMPDIR ?? "/tmp"}/jobline-example-${process.pid}.db`;

if (process.argv[2] === "worker") {
  // The child: works until the parent tells it to stop.
  const backend = sqliteBackend({ path });
  const queue = createQueue({ backend, name: "reports" });
  const worker = createWorker(queue, {
    report: async (job, ctx) => {
      for (let i = 1; i <= 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await ctx.progress(i / 3, `page ${i}/3 in pid ${process.pid}`);
      }
      return { pages: 3, month: (job.data as { month: string }).month };
    },
  }, { concurrency: 2 });
  process.stdin.on("data", async () => {
    await worker.stop();
    await queue.close();
    await backend.close();
    process.exit(0);
  });
} else {
  const backend = sqliteBackend({ path });
  const queue = createQueue({ backend, name: "reports" });
  const ids = await queue.enqueueMany(
    ["2026-09", "2026-10", "2026-11"].map((month) => ({
      type: "report",
      data: { month },
    })),
  );
  const runtime = "Deno" in globalThis ? ["run", "-A"] : [];
  const child = spawn(process.execPath, [
    ...runtime,
    fileURLToPath(import.meta.url),
    "worker",
    path,
  ], {
    stdio: ["pipe", "inherit", "inherit"],
  });
  for (const id of ids) {
    for await (const u of subscribe(queue, id)) {
      console.log(`${id.slice(-6)} ${u.status.padEnd(10)} ${u.message}`);
    }
  }
  console.log(await queue.stats());
  child.stdin!.write("stop\n");
  await new Promise((resolve) => child.on("exit", resolve));
  await queue.close();
  await backend.close();
  for (const suffix of ["", "-wal", "-shm"]) {
    await import("node:fs/promises").then((fs) =>
      fs.rm(path + suffix, { force: true })
    );
  }
}
