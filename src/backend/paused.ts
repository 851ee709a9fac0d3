/**
 * The kit's reading of stored pause state: backends keep one member per
 * paused type and "" (never a valid type) for the whole queue; this turns
 * those members into what Backend.pausedState returns. It stores nothing.
 *
 * @module
 */

/**
 * The member that stands for the whole queue (no type is ever empty).
 *
 * @example
 * ```ts
 * import { QUEUE_PAUSED } from "@jobline/jobline/backend";
 * const member = (type: string | null): string => type ?? QUEUE_PAUSED;
 * ```
 */
export const QUEUE_PAUSED = "";

/**
 * The pause state from the stored members.
 *
 * @example
 * ```ts
 * import { pausedStateOf } from "@jobline/jobline/backend";
 * console.log(pausedStateOf(["", "email"])); // { queue: true, types: ["email"] }
 * ```
 */
export function pausedStateOf(
  members: readonly unknown[],
): { queue: boolean; types: string[] } {
  const all = members.map(String);
  return {
    queue: all.includes(QUEUE_PAUSED),
    types: all.filter((t) => t !== QUEUE_PAUSED),
  };
}
