/**
 * Job ids: 26 characters of Crockford base32, a millisecond timestamp then
 * 80 random bits that count up within the same millisecond, so ids sort by
 * creation time and stay unique across processes. Pure Web APIs only.
 *
 * @module
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const FORTY_BITS = 2 ** 40;

let lastTime = -1;
let hi = 0;
let lo = 0;
/** The time and high random part of the current millisecond's ids. */
let prefix = "";

function encode(value: number, length: number): string {
  let out = "";
  for (let i = length - 1; i >= 0; i--) {
    out += ALPHABET[Math.floor(value / 32 ** i) % 32];
  }
  return out;
}

function random40(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0]! % 256) * 2 ** 32 + words[1]!;
}

/**
 * Makes a new job id, greater than every id this process made before.
 *
 * @example
 * ```ts
 * import { newId } from "@jobline/jobline/backend";
 * const a = newId();
 * const b = newId();
 * console.log(a.length, a < b); // 26 true
 * ```
 *
 * @param now The creation time in epoch ms.
 * @returns The id.
 */
export function newId(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    // Leave head room so that counting up within one millisecond never wraps.
    hi = random40() % (FORTY_BITS / 2);
    lo = random40();
    prefix = encode(lastTime, 10) + encode(hi, 8);
  } else {
    lo++;
    if (lo >= FORTY_BITS) {
      lo = 0;
      hi++;
      prefix = encode(lastTime, 10) + encode(hi, 8);
    }
  }
  return prefix + encode(lo, 8);
}
