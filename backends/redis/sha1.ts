/**
 * The SHA-1 of a Lua script's text, in lowercase hex: the name `EVALSHA`
 * calls a script by (the one `EVAL` caches it under), for the Redis and
 * Redis Streams backends' script runners. Web Crypto only, so it runs
 * unchanged on Deno, Node and Bun.
 *
 * @module
 */

/** The SHA-1 of `text` (UTF-8), as 40 lowercase hex digits. */
export async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
