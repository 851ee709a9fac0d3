/**
 * WAL checkpoints of a SQLite file, off the event loop: a worker thread
 * with a connection of its own copies what the backend's commits added to
 * the write-ahead log into the database file, and waits for the disk.
 *
 * Without it, the commit that pushes the log past `wal_autocheckpoint`
 * (10,000 pages) runs the checkpoint itself, in the backend's thread: it
 * writes back every page changed since the last one and syncs the file,
 * and here that blocked every caller of the process for 107–240 ms, once
 * every few thousand jobs. With it, that commit finds the log copied
 * already, and its own checkpoint copies and syncs only the pages of the
 * last moments. `wal_autocheckpoint` stays set as the safety net: if the
 * thread cannot start or fails, checkpoints happen as before (a commit's
 * own is skipped only while the thread is in the middle of one).
 *
 * The thread starts only once the log file has grown past START_BYTES (a
 * backend that writes little never starts one; on Deno, only with read
 * access to it granted: never a permission prompt), is nudged at most
 * every NUDGE_MS while commits come, one checkpoint at a time, and is
 * stopped with the backend. A PASSIVE checkpoint never blocks a writer or
 * a reader, and the log is synced before it is copied, so durability is
 * what `synchronous` says either way. A busy or locked file is tried again
 * at the next nudge; any other failure is reported once, and checkpoints
 * stay with the backend's own thread.
 *
 * @module
 */

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { BackendError } from "../../src/errors.ts";
import { readGranted, type SqliteConfig } from "./url.ts";

/** The log file size (bytes) from which checkpoints move to the thread. */
export const START_BYTES = 4 * 1024 * 1024;

/** The least time (ms) between two nudges of the thread. */
export const NUDGE_MS = 100;

/** Slots of the state shared with the thread (an Int32Array). */
const BUSY = 0, DONE = 1, FAILED = 2;

/**
 * The thread, as CommonJS source (`eval`: no file of its own to find, on
 * Deno, Node and Bun, from JSR or npm): it opens the file and runs a
 * PASSIVE checkpoint per message. It tells how that went in the shared
 * state (BUSY cleared after each, DONE counted, FAILED set), not by a
 * reply: a busy event loop (Deno's) took up to seconds to deliver one,
 * and the backend nudged nothing meanwhile. A busy or locked file (opening
 * or checkpointing) waits for the next nudge; another failure also goes
 * as a message, the error's text. "close" closes the file and says so,
 * and the backend ends the thread.
 */
const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { DatabaseSync } = require("node:sqlite");
const state = new Int32Array(workerData.state);
let db, checkpoint;
function open() {
  try {
    db = new DatabaseSync(workerData.path);
    db.exec("PRAGMA busy_timeout = " + workerData.busyTimeout +
      "; PRAGMA synchronous = " + workerData.synchronous);
    checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  } catch (err) {
    try { if (db) db.close(); } catch {}
    db = undefined;
    throw err;
  }
}
parentPort.on("message", (message) => {
  if (message === "close") {
    try { if (db) db.close(); } catch {}
    parentPort.postMessage("closed");
    return;
  }
  try {
    if (!checkpoint) open();
    checkpoint.get();
    Atomics.add(state, ${DONE}, 1);
  } catch (err) {
    const text = String(err && err.message || err);
    if (!/busy|locked/i.test(text)) {
      Atomics.store(state, ${FAILED}, 1);
      parentPort.postMessage(text);
    }
  } finally {
    Atomics.store(state, ${BUSY}, 0);
  }
});
`;

/** The checkpoints of one backend's file. */
export interface Checkpoints {
  /** After each commit: nudges the thread (started first if due). */
  committed(): void;
  /**
   * Stops the thread; resolves once it closed its connection and ended
   * (or, stuck in a checkpoint for 5 s, was ended).
   */
  close(): Promise<void>;
  /** Whether the thread was started (tests read it). */
  readonly started: boolean;
  /** Checkpoints the thread finished so far (tests read it). */
  readonly done: number;
}

/**
 * Checkpoints of `config.path` in a thread; failures go to `report`, once
 * (it must not leave one out as a repeat of another task's).
 */
export function backgroundCheckpoints(
  config: SqliteConfig,
  report: (err: unknown) => void,
): Checkpoints {
  const path = resolve(config.path);
  let worker: Worker | undefined;
  /** The end of a thread stopped after a failure. */
  let ended: Promise<unknown> = Promise.resolve();
  let started = false;
  let off = false;
  let nextAt = 0;
  const state = new Int32Array(new SharedArrayBuffer(3 * 4));
  let closing: Promise<void> | undefined;

  const fail = (err: unknown) => {
    report(
      new BackendError(
        `sqlite checkpoint thread failed (checkpoints go on in the backend's own thread): ${
          err instanceof Error ? err.message : String(err)
        }`,
        { cause: err },
      ),
    );
  };

  function start(): Worker | undefined {
    let w: Worker;
    try {
      w = new Worker(SOURCE, {
        eval: true,
        // Node 22 would warn again that node:sqlite is experimental (Deno
        // refuses flags here).
        ...(!("Deno" in globalThis)
          ? { execArgv: ["--disable-warning=ExperimentalWarning"] }
          : {}),
        workerData: {
          path,
          busyTimeout: config.busyTimeout,
          synchronous: config.synchronous.toUpperCase(),
          state: state.buffer,
        },
      });
    } catch (err) {
      off = true;
      fail(err);
      return undefined;
    }
    started = true;
    w.unref();
    const stop = (err: unknown) => {
      // Once failed, checkpoints stay with the backend's own thread.
      if (off) return;
      off = true;
      if (worker === w) worker = undefined;
      fail(err);
      ended = w.terminate().catch(() => {});
    };
    w.on("message", (message: unknown) => {
      if (message !== "closed") stop(new Error(String(message)));
    });
    w.on("error", stop);
    w.on("exit", (code: number) => {
      if (closing === undefined) stop(new Error(`the thread exited (${code})`));
    });
    return w;
  }

  return {
    get started() {
      return started;
    },
    get done() {
      return Atomics.load(state, DONE);
    },
    committed() {
      if (off || closing !== undefined) return;
      // One checkpoint at a time; none more once one failed.
      if (Atomics.load(state, BUSY) === 1) return;
      if (Atomics.load(state, FAILED) === 1) return;
      const now = performance.now();
      if (now < nextAt) return;
      nextAt = now + NUDGE_MS;
      if (worker === undefined) {
        if (walBytes(path) < START_BYTES) return;
        worker = start();
        if (worker === undefined) return;
      }
      Atomics.store(state, BUSY, 1);
      worker.postMessage("checkpoint");
    },
    close() {
      if (closing !== undefined) return closing;
      const w = worker;
      worker = undefined;
      if (w === undefined) return closing = ended.then(() => {});
      closing = new Promise<void>((resolve) => {
        const end = () => {
          clearTimeout(timer);
          void w.terminate().then(() => resolve(), () => resolve());
        };
        // A thread stuck in a long checkpoint is ended after a while.
        const timer = setTimeout(end, 5_000);
        w.on("message", (message: unknown) => {
          if (message === "closed") end();
        });
        w.on("error", end);
        w.on("exit", end);
        // Waited for: the thread keeps the process up until it closed.
        w.ref();
        w.postMessage("close");
      });
      return closing;
    },
  };
}

/**
 * The size of the file's write-ahead log: 0 when there is none, or when
 * Deno has not granted reading it (asking would prompt in a commit).
 */
function walBytes(path: string): number {
  const wal = `${path}-wal`;
  try {
    return readGranted(wal) ? statSync(wal).size : 0;
  } catch {
    return 0;
  }
}
