/**
 * Lease tokens of the memory backend: 16 random characters (96 bits) per
 * lease, so that no one can guess a lease from a job's id or from the order
 * of claims (fencing rests on the token). Claims are the memory backend's
 * hottest path, so the random bytes come from `crypto.getRandomValues` (a
 * Web API on every runtime) 4 KiB at a time, one call per 256 tokens, and a
 * token is built in one step. It must never encode anything about the job.
 *
 * @module
 */

/** 64 URL-safe characters: a byte's low 6 bits pick one, uniformly. */
const CODES = Array.from(
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
  (c) => c.charCodeAt(0),
);
const LENGTH = 16;

let pool = new Uint8Array(0);
let at = 0;

/** A fresh random lease token: 16 characters of `[0-9A-Za-z_-]`. */
export function randomToken(): string {
  if (at + LENGTH > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(4_096));
    at = 0;
  }
  const p = pool;
  const a = at;
  const C = CODES;
  at += LENGTH;
  // One call with 16 arguments: a loop of concatenations is slower.
  return String.fromCharCode(
    C[p[a]! & 63]!,
    C[p[a + 1]! & 63]!,
    C[p[a + 2]! & 63]!,
    C[p[a + 3]! & 63]!,
    C[p[a + 4]! & 63]!,
    C[p[a + 5]! & 63]!,
    C[p[a + 6]! & 63]!,
    C[p[a + 7]! & 63]!,
    C[p[a + 8]! & 63]!,
    C[p[a + 9]! & 63]!,
    C[p[a + 10]! & 63]!,
    C[p[a + 11]! & 63]!,
    C[p[a + 12]! & 63]!,
    C[p[a + 13]! & 63]!,
    C[p[a + 14]! & 63]!,
    C[p[a + 15]! & 63]!,
  );
}
