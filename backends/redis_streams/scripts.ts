/**
 * Runs the Redis Streams backend's scripts on a connection of the Redis
 * backend (backends/redis/connection.ts, borrowed as it is): builds each
 * call's KEYS (the fixed keys the script declares, then a stream and a
 * delayed set per type) and ARGV (now, namespace, trim length, consumer,
 * types, then the script's own), sends EVALSHA routed by the queue's
 * namespace, and falls back to EVAL (which caches the script) on NOSCRIPT.
 * Failures become BackendErrors; nothing runs after close().
 *
 * @module
 */

import { backendClosed } from "../../src/backend/closed.ts";
import { toBackendError } from "../../src/errors.ts";
import type { Connection } from "../redis/connection.ts";
import { sha1 } from "../redis/sha1.ts";
import { type ScriptName, scriptTexts } from "./lua.ts";

/** What a transition gives a script call. */
export interface Call {
  /** The queue. */
  queue: string;
  /** The queue's clock. */
  now: number;
  /** The types whose stream and delayed set the script may touch. */
  types: readonly string[];
  /** The script's own arguments. */
  args: readonly string[];
}

/** The script runner of one backend. */
export interface Runner {
  /** Runs a script; rejects with BackendError. */
  run(name: ScriptName, call: Call): Promise<unknown>;
  /** Sends one command routed by the queue's namespace. */
  send(queue: string, args: string[], what: string): Promise<unknown>;
  /** A queue's namespace: `<prefix>:{<queue>}:rs:`. */
  ns(queue: string): string;
}

/** How the runner is set up. */
export interface RunnerSetup {
  /** The connection (the Redis backend's). */
  conn: Connection;
  /** A queue's namespace. */
  ns: (queue: string) => string;
  /** History entries kept per stream (MAXLEN ~), beyond undelivered ones. */
  trimLength: number;
  /** The consumer name in each stream's group. */
  consumer: string;
  /** Whether scripts check that every key they touch is declared. */
  checkKeys: boolean;
  /** True once the backend is closed. */
  isClosed: () => boolean;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOSCRIPT");
}

/** Makes the runner; the scripts' text is built on first use. */
export function createRunner(setup: RunnerSetup): Runner {
  const { conn, ns, checkKeys, isClosed } = setup;
  const trim = String(setup.trimLength);
  const texts = scriptTexts({
    publish: conn.cluster ? "SPUBLISH" : "PUBLISH",
    checkKeys,
  });
  // Every script's SHA-1, made together on first use: once made, a call
  // reaches its send after the same awaits whatever the script (an enqueue
  // goes out before the claim its own wake-up sets off: mod.ts).
  let shas: Record<string, string> | undefined;
  let hashing: Promise<Record<string, string>> | undefined;

  async function shaOf(name: ScriptName): Promise<string> {
    shas ??= await (hashing ??= hashAll());
    return shas[name]!;
  }

  async function hashAll(): Promise<Record<string, string>> {
    const names = Object.keys(texts) as ScriptName[];
    const all = await Promise.all(names.map((n) => sha1(texts[n].source)));
    return Object.fromEntries(names.map((n, i) => [n, all[i]!]));
  }

  async function send(
    queue: string,
    args: string[],
    what: string,
  ): Promise<unknown> {
    if (isClosed()) throw backendClosed("redis-streams");
    try {
      return await conn.send(ns(queue), args);
    } catch (err) {
      throw toBackendError(err, `redis-streams ${what}`);
    }
  }

  return {
    ns,
    send,
    async run(name, { queue, now, types, args }) {
      if (isClosed()) throw backendClosed("redis-streams");
      const base = ns(queue);
      const text = texts[name];
      const keys = text.keys.map((k) => base + k);
      for (const t of types) keys.push(`${base}s:${t}`, `${base}d:${t}`);
      const command = [
        "EVALSHA",
        await shaOf(name),
        String(keys.length),
        ...keys,
        String(now),
        base,
        trim,
        setup.consumer,
        String(types.length),
        ...types,
        ...args,
      ];
      try {
        try {
          return await conn.send(base, command);
        } catch (err) {
          if (!isNoScript(err)) throw err;
          command[0] = "EVAL";
          command[1] = text.source;
          return await conn.send(base, command);
        }
      } catch (err) {
        throw toBackendError(err, `redis-streams ${name}`);
      }
    },
  };
}
