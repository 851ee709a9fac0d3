/**
 * How the Redis backend runs its scripts on one connection: as functions of
 * its Functions library (FCALL, lua_library.ts) where the server has Redis
 * Functions (Redis 7+, Valkey), else with EVALSHA, falling back to EVAL
 * (which caches the script) on NOSCRIPT, as on Redis 5 and 6 or Dragonfly.
 *
 * Which one is found once per connection: the first call tries FCALL, and
 * an unknown command (or one the user may not run) settles on EVALSHA for
 * good. A server without the library (its first use, a restart, a FUNCTION
 * FLUSH, a Cluster master that never had it) answers "Function not found":
 * the library is loaded on the node that said so (a call is routed by its
 * queue's key, and so is the load) and the call runs again. Either answer
 * means the call did not run, so running it again is safe; nothing else is
 * ever retried. A server that refuses the load (an ACL without FUNCTION)
 * settles the connection on EVALSHA too.
 *
 * @module
 */

import { isCluster, type RedisLike } from "./driver.ts";
import { type ScriptName, scriptSources } from "./lua.ts";
import { functionLibrary, type Library } from "./lua_library.ts";
import { sha1 } from "./sha1.ts";

/** Runs the scripts on one connection's client. */
export interface ScriptRunner {
  /** Runs script `name` in the namespace `key`. */
  run(
    client: RedisLike,
    name: ScriptName,
    key: string,
    args: string[],
  ): Promise<unknown>;
}

/** Sends a raw command, routed by `key` on a Cluster. */
export function sendTo(
  client: RedisLike,
  key: string,
  args: string[],
): Promise<unknown> {
  return isCluster(client)
    ? client.sendCommand(key, false, args)
    : client.sendCommand(args);
}

/** The scripts' text, their SHA-1s and the library, made once. */
interface Prepared {
  sources: Record<ScriptName, string>;
  shas: Record<ScriptName, string>;
  library: Library;
}

async function prepare(
  publish: "PUBLISH" | "SPUBLISH",
): Promise<Prepared> {
  const sources = scriptSources(publish);
  const shas = {} as Record<ScriptName, string>;
  for (const name of Object.keys(sources) as ScriptName[]) {
    shas[name] = await sha1(sources[name]);
  }
  return { sources, shas, library: await functionLibrary(publish, sha1) };
}

const message = (err: unknown): string =>
  err instanceof Error ? err.message : "";

/** FCALL did not run: the server has no Functions, or the user may not. */
const noFunctions = (err: unknown): boolean =>
  /unknown command|no permissions to run the 'fcall' command/i.test(
    message(err),
  );

/**
 * A reply of the server (an error code first: ERR, NOPERM...), not a
 * connection that failed: the server refused the load.
 */
const refused = (err: unknown): boolean => /^[A-Z]{2,}\s/.test(message(err));

/** Makes the runner of one connection. */
export function scriptRunner(publish: "PUBLISH" | "SPUBLISH"): ScriptRunner {
  let preparing: Promise<Prepared> | undefined;
  let ready: Prepared | undefined;
  // undefined until FCALL worked once or EVALSHA was settled on
  let functions: boolean | undefined;
  // the load under way, which calls missing the library wait for first
  let loading: Promise<boolean> | undefined;

  async function evalsha(
    p: Prepared,
    client: RedisLike,
    name: ScriptName,
    key: string,
    args: string[],
  ): Promise<unknown> {
    const command = ["EVALSHA", p.shas[name], "1", key];
    for (let i = 0; i < args.length; i++) command.push(args[i]!);
    try {
      return await sendTo(client, key, command);
    } catch (err) {
      if (!message(err).startsWith("NOSCRIPT")) throw err;
      command[0] = "EVAL";
      command[1] = p.sources[name];
      return await sendTo(client, key, command);
    }
  }

  /** Loads the library on the node of `key`; false if the server refuses. */
  async function load(
    p: Prepared,
    client: RedisLike,
    key: string,
  ): Promise<boolean> {
    try {
      await sendTo(client, key, [
        "FUNCTION",
        "LOAD",
        "REPLACE",
        p.library.source,
      ]);
      return true;
    } catch (err) {
      if (refused(err)) return false;
      throw err;
    }
  }

  /**
   * Makes sure the library is on the node of `key`: waits for the load under
   * way when `shared` (a Cluster's may be another node's), else loads it.
   * False if the server refuses it.
   */
  async function loaded(
    p: Prepared,
    client: RedisLike,
    key: string,
    shared: boolean,
  ): Promise<boolean> {
    if (shared && loading !== undefined) {
      return await loading.catch(() => true);
    }
    const mine = load(p, client, key);
    loading = mine;
    try {
      return await mine;
    } finally {
      if (loading === mine) loading = undefined;
    }
  }

  async function fcall(
    p: Prepared,
    client: RedisLike,
    name: ScriptName,
    key: string,
    args: string[],
  ): Promise<unknown> {
    const command = ["FCALL", p.library.functions[name], "1", key];
    for (let i = 0; i < args.length; i++) command.push(args[i]!);
    for (let attempt = 0;; attempt++) {
      try {
        const reply = await sendTo(client, key, command);
        functions = true;
        return reply;
      } catch (err) {
        if (noFunctions(err)) functions = false;
        else if (!/Function not found/.test(message(err)) || attempt > 1) {
          throw err;
        }
      }
      if (functions !== false && !await loaded(p, client, key, attempt === 0)) {
        functions = false;
      }
      if (functions === false) return await evalsha(p, client, name, key, args);
    }
  }

  return {
    async run(client, name, key, args) {
      const p = ready ?? (ready = await (preparing ??= prepare(publish)));
      return functions === false
        ? await evalsha(p, client, name, key, args)
        : await fcall(p, client, name, key, args);
    },
  };
}
