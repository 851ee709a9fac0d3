/**
 * The stored error of a failed attempt: turns anything a handler throws (or
 * a caller passes to fail()) into `{ message, name?, stack? }`, bounded in
 * size, before it is stored or published. It must never throw, whatever it
 * is given: a value that cannot become a string still gives a message.
 *
 * @module
 */

import type { JobError } from "./types.ts";
import { utf8Length } from "./validate.ts";

/** The most UTF-8 bytes of a stored error's message (8 KiB). */
export const MAX_ERROR_MESSAGE_BYTES = 8 * 1024;
/** The most UTF-8 bytes of a stored error's stack (16 KiB). */
export const MAX_ERROR_STACK_BYTES = 16 * 1024;
/** The most UTF-8 bytes of a stored error's name. */
export const MAX_ERROR_NAME_BYTES = 256;

/** The message of a thrown value that no String() can describe. */
const UNPRINTABLE = "[unprintable thrown value]";

/**
 * Turns anything thrown into the stored error shape. An Error keeps its
 * message, name and stack; an object with a string `message` keeps that;
 * anything else becomes its String(), or, when even that throws (an object
 * without a prototype, a toString that throws, a revoked Proxy), "[unprintable
 * thrown value]" followed by its JSON where it has one. Each part is cut to
 * its limit with a marker ({@linkcode truncateUtf8}).
 *
 * @param err What was thrown.
 * @returns The error to store; never throws.
 */
export function toJobError(err: unknown): JobError {
  const out: JobError = {
    message: truncateUtf8(messageOf(err), MAX_ERROR_MESSAGE_BYTES),
  };
  if (attempt(() => err instanceof Error) === true) {
    const e = err as Error;
    const name = attempt(() => e.name);
    if (typeof name === "string") {
      out.name = truncateUtf8(name, MAX_ERROR_NAME_BYTES);
    }
    const stack = attempt(() => e.stack);
    if (typeof stack === "string") {
      out.stack = truncateUtf8(stack, MAX_ERROR_STACK_BYTES);
    }
  }
  return out;
}

/**
 * Cuts `text` so that its UTF-8 form, marker included, is at most
 * `maxBytes`, ending with "… [truncated from N bytes]" (N the original
 * size). Never cuts inside a character. Text within the limit is returned as
 * it is.
 *
 * @param text The text.
 * @param maxBytes The most UTF-8 bytes to keep.
 * @returns The text, cut if need be.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 bytes of UTF-8.
  if (text.length * 3 <= maxBytes) return text;
  const size = utf8Length(text);
  if (size <= maxBytes) return text;
  const marker = `… [truncated from ${size} bytes]`;
  const budget = maxBytes - utf8Length(marker);
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    const next = text.charCodeAt(end + 1); // NaN past the end
    const pair = c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 &&
      next <= 0xdfff;
    const width = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + width > budget) break;
    bytes += width;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end) + marker;
}

/** The message of anything thrown, as good as can be had. */
function messageOf(err: unknown): string {
  if (err === null || (typeof err !== "object" && typeof err !== "function")) {
    return describe(err);
  }
  const message = attempt(() => (err as { message?: unknown }).message);
  if (typeof message === "string") return message;
  const isError = attempt(() => err instanceof Error) === true;
  // An Error whose message is some other value: describe that value.
  if (isError && message !== undefined && message !== FAILED) {
    return describe(message);
  }
  return describe(err);
}

/** String(value), or its JSON when that throws, or the unprintable marker. */
function describe(value: unknown): string {
  const text = attempt(() => String(value));
  if (typeof text === "string") return text;
  const json = attempt(() => JSON.stringify(value));
  return typeof json === "string" && json !== "{}"
    ? `${UNPRINTABLE} ${json}`
    : UNPRINTABLE;
}

/** What `attempt` gives for a read that threw. */
const FAILED: unique symbol = Symbol("failed");

/** Runs a read that may throw (a getter, a Proxy trap, a toString). */
function attempt<T>(read: () => T): T | typeof FAILED {
  try {
    return read();
  } catch {
    return FAILED;
  }
}
