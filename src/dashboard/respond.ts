/**
 * The dashboard's answers: JSON with the safe headers, and the page's
 * headers with its Content-Security-Policy (script and style by nonce,
 * requests to its own origin only). Builds responses; decides nothing.
 *
 * @module
 */

/** Headers every answer carries. */
export const SAFE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

/**
 * A JSON answer.
 *
 * @param status The HTTP status.
 * @param value The body.
 * @returns The response.
 */
export function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: {
      ...SAFE_HEADERS,
      "content-type": "application/json; charset=utf-8",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    },
  });
}

/**
 * The Content-Security-Policy of the page: its own script and style by
 * nonce, requests to its own origin only, nothing else.
 *
 * @param nonce This response's nonce.
 * @returns The header's value.
 */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The headers of the page. */
export function pageHeaders(nonce: string): Record<string, string> {
  return {
    ...SAFE_HEADERS,
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": pagePolicy(nonce),
  };
}

/**
 * A fresh nonce for one page's Content-Security-Policy.
 *
 * @returns 128 random bits in base64.
 */
export function makeNonce(): string {
  return btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
}
