/**
 * The Redis backend's scripts as one Redis Functions library (Redis 7+,
 * Valkey): built from the same text as the EVALSHA scripts (lua.ts,
 * lua_prelude.ts), so both ways run the same Lua. Loaded once per server,
 * the library defines every helper once, where an EVALSHA call defines the
 * helpers its script needs on every call (about 25 µs of server time per
 * claim or completion).
 *
 * A helper's per-call state (the queue's key names from KEYS[1], `now`,
 * counters, gathered writes, caches) is a top-level `local` of the helper
 * text. The library declares those once and sets them at the start of each
 * call (`setup`), since a library's locals outlive a call: each function
 * runs `setup(KEYS, ARGV)`, then its script's body unchanged. Redis runs one
 * function at a time, so the shared locals are never seen by two calls.
 *
 * The library's name and its functions' names carry a hash of its text, so
 * two versions of jobline on one server load side by side, never replacing
 * each other's. It must never hold per-queue state between calls.
 *
 * @module
 */

import { publishNames, type ScriptName, SCRIPTS } from "./lua.ts";
import { fullPrelude } from "./lua_prelude.ts";

/** A library's text and the function that runs each script. */
export interface Library {
  /** The library's name: `jobline_<version>`. */
  readonly name: string;
  /** The source FUNCTION LOAD takes. */
  readonly source: string;
  /** The function of each script: `jobline_<version>_<script>`. */
  readonly functions: Record<ScriptName, string>;
}

const STATE =
  /^local (?!function\b)([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*)(?: = (.+))?$/;

/** True when brackets outside quoted strings pair up (a one-line value). */
function oneLine(expr: string): boolean {
  const bare = expr.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "");
  const open = bare.match(/[({[]/g)?.length ?? 0;
  return open === (bare.match(/[)}\]]/g)?.length ?? 0);
}

/**
 * Splits the helpers' text into their top-level state (names, and the
 * assignments that give them their value at the start of a call) and the
 * rest (the helper functions, which stay as they are).
 */
function hoist(
  code: string,
): { names: string[]; init: string[]; rest: string } {
  const names: string[] = [];
  const init: string[] = [];
  const rest: string[] = [];
  for (const line of code.split("\n")) {
    const m = STATE.exec(line);
    if (m === null) {
      rest.push(line);
      continue;
    }
    const declared = m[1]!.split(/, */);
    for (const n of declared) {
      // one name, one local: two helpers sharing a name would share state
      if (names.includes(n)) throw new Error(`helper state ${n} twice`);
      names.push(n);
    }
    if (m[2] !== undefined && !oneLine(m[2])) {
      throw new Error(`helper state ${m[1]} is not one line`);
    }
    init.push(`${m[1]} = ${m[2] ?? "nil"}`);
  }
  return { names, init, rest: rest.join("\n") };
}

/** The library's text for a version ("" while hashing it). */
function text(
  publish: "PUBLISH" | "SPUBLISH",
  version: string,
): { source: string; functions: Record<ScriptName, string> } {
  const { names, init, rest } = hoist(fullPrelude());
  const functions = {} as Record<ScriptName, string>;
  // Loading runs the text with almost no globals (not even unpack): what
  // needs them is set in setup, at call time.
  let source = `#!lua name=jobline_${version}\n${publishNames(publish)}` +
    `local unpack, KEYS, ARGV\nlocal ${names.join(", ")}\n${rest}\n` +
    `local function setup(keys, args)\n` +
    `unpack, KEYS, ARGV = _G.unpack or table.unpack, keys, args\n` +
    `${init.join("\n")}\nend\n`;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    functions[name] = `jobline_${version}_${name}`;
    source += `redis.register_function('${functions[name]}', ` +
      `function(KEYS, ARGV)\nsetup(KEYS, ARGV)\n${SCRIPTS[name][0]}\nend)\n`;
  }
  return { source, functions };
}

/**
 * Builds the library: `hash` gives the hex digest its version is made from.
 *
 * @param publish PUBLISH on a single server, SPUBLISH on a Cluster.
 * @param hash A hex digest of a text (SHA-1 in connection.ts).
 */
export async function functionLibrary(
  publish: "PUBLISH" | "SPUBLISH",
  hash: (text: string) => Promise<string>,
): Promise<Library> {
  const version = (await hash(text(publish, "").source)).slice(0, 16);
  return { name: `jobline_${version}`, ...text(publish, version) };
}
