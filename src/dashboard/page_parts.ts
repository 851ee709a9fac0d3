/**
 * What the parts of the dashboard page share: the render context, the
 * action buttons (none in read-only mode) and small attribute helpers.
 * Every value goes through the `markup` tag, which escapes it.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { Queue } from "../queue_types.ts";
import type { Job } from "../types.ts";
import { Html, markup } from "./html.ts";

/** What one render of the page needs. */
export interface PageContext {
  /** The base path, ending with "/". */
  base: string;
  /** No action is offered. */
  readOnly: boolean;
  /** The nonce of this response's Content-Security-Policy. */
  nonce: string;
  /** Jobs per page. */
  pageSize: number;
  /** The queues, by name, in the order given. */
  queues: ReadonlyMap<string, Queue>;
  /**
   * Sends an error that the page shows only as "could not be read" to the
   * dashboard's `onError` (a backend's message may hold hosts, paths or
   * credentials).
   */
  report(error: unknown): void;
}

/**
 * What a section shows of an error reading it: a ValidationError's
 * message (meant for users: the backend has no schedules, say), else
 * nothing, the error going to `report`.
 */
export function readFailure(ctx: PageContext, err: unknown): string {
  if (err instanceof ValidationError) return `: ${err.message}`;
  ctx.report(err);
  return " (the dashboard's onError has the error)";
}

/** The `hidden` attribute when `hide` holds. */
export function hiddenIf(hide: boolean): Html {
  return new Html(hide ? " hidden" : "");
}

/** An action button, or nothing in read-only mode. */
export function button(
  ctx: PageContext,
  action: string,
  label: string,
  data: Record<string, string> = {},
  options: { danger?: boolean; hidden?: boolean } = {},
): Html | null {
  if (ctx.readOnly) return null;
  const attrs = Object.entries(data).map(([k, v]) => markup` data-${k}="${v}"`);
  const cls = options.danger ? "danger" : "";
  return markup`<button type="button" class="${cls}" data-action="${action}"${attrs}${
    hiddenIf(options.hidden === true)
  }>${label}</button>`;
}

/** The buttons a job's status allows: retry, cancel, remove. */
export function jobActions(ctx: PageContext, job: Job): (Html | null)[] {
  const { status, id } = job;
  return [
    status === "failed" || status === "cancelled"
      ? button(ctx, "retry", "Retry", { id })
      : null,
    status === "waiting" || status === "pending" || status === "processing"
      ? button(ctx, "cancel", "Cancel", { id })
      : null,
    button(ctx, "remove", "Remove", { id }, { danger: true }),
  ];
}
