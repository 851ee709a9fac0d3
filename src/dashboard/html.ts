/**
 * Escaping for the dashboard's HTML: the `markup` template tag escapes every
 * value put into it unless it is already `Html` made by this module, so a
 * job's data, result, error, metadata, type or key can never become
 * markup. Also the formatting the page shares with its script (times,
 * JSON). It must never turn a value into markup without escaping it.
 *
 * @module
 */

/** A piece of markup this module made or escaped: safe to put in a page. */
export class Html {
  /** The markup. */
  readonly text: string;
  /** Wraps markup that is known safe (use `markup` or `escapeHtml`). */
  constructor(text: string) {
    this.text = text;
  }
  /** The markup, as a string. */
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and for a quoted attribute value.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.log(escapeHtml('<img src=x onerror="alert(1)">'));
 * // "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
 * ```
 *
 * @param value Any value; it is made a string first.
 * @returns The escaped text.
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** One interpolated value as markup: arrays joined, nothing for null. */
function piece(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(value);
}

/**
 * The template tag of the page: escapes each value unless it is `Html`.
 *
 * @example
 * ```ts
 * import { markup } from "./html.ts";
 * const type = "<script>alert(1)</script>";
 * console.log(String(markup`<td>${type}</td>`));
 * // "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"
 * ```
 *
 * @returns The markup.
 */
export function markup(
  strings: TemplateStringsArray,
  ...values: unknown[]
): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    out += piece(values[i]) + strings[i + 1]!;
  }
  return new Html(out);
}

/**
 * A time as the page shows it: UTC to the second, or "—" for none.
 *
 * @example
 * ```ts
 * import { formatTime } from "./html.ts";
 * console.log(formatTime(0)); // "1970-01-01 00:00:00"
 * ```
 *
 * @param ms Epoch ms, or undefined.
 * @returns The text.
 */
export function formatTime(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms)
    ? "—"
    : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/**
 * A JSON value as the page shows it: indented, or "—" for none.
 *
 * @example
 * ```ts
 * import { formatJson } from "./html.ts";
 * console.log(formatJson({ a: 1 })); // '{\n  "a": 1\n}'
 * ```
 *
 * @param value The value, or undefined.
 * @returns The text.
 */
export function formatJson(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value, null, 2);
}

/**
 * A query string from the values that are set, for the page's links.
 *
 * @example
 * ```ts
 * import { query } from "./html.ts";
 * console.log(query({ queue: "a b", status: "failed", q: "" })); // "?queue=a+b&status=failed"
 * ```
 *
 * @param params Names and values; empty and undefined ones are left out.
 * @returns "?..." or "" when nothing is set.
 */
export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") search.set(k, v);
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}
