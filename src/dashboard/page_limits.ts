/**
 * The limits section of the dashboard page: the queue's concurrency and
 * rate limits as `queue.getLimits()` reads them (the whole queue, each
 * type, each group key), beside what runs now. Every value goes through
 * the `markup` tag.
 *
 * @module
 */

import type { LimitRule } from "../limits_types.ts";
import type { Queue } from "../queue_types.ts";
import { type Html, markup } from "./html.ts";
import { type PageContext, readFailure } from "./page_parts.ts";

function ruleRow(scope: string, rule: LimitRule, running: string): Html {
  const rate = rule.rate === undefined
    ? "—"
    : `${rule.rate.max} per ${rule.rate.per} ms`;
  return markup`<tr><td>${scope}</td><td class="num">${
    rule.concurrency ?? "—"
  }</td><td class="mono">${rate}</td><td class="num">${running}</td></tr>`;
}

/** The limits of a queue, as a section of the page. */
export async function limitsSection(
  ctx: PageContext,
  queue: Queue,
): Promise<Html> {
  let body: Html;
  try {
    const [limits, stats] = await Promise.all([
      queue.getLimits(),
      queue.stats(),
    ]);
    const rows: Html[] = [];
    if (limits.concurrency !== undefined || limits.rate !== undefined) {
      rows.push(ruleRow("the whole queue", limits, String(stats.processing)));
    }
    for (const [type, rule] of Object.entries(limits.types ?? {})) {
      const running = stats.byType[type]?.processing ?? 0;
      rows.push(ruleRow(`type ${type}`, rule, String(running)));
    }
    if (limits.groups !== undefined) {
      rows.push(ruleRow("each group", limits.groups, "—"));
    }
    body = rows.length === 0
      ? markup`<p class="muted">No limits.</p>`
      : markup`<table><thead><tr><th>Scope</th><th>Concurrency</th>
<th>Rate</th><th>Processing now</th></tr></thead><tbody>${rows}</tbody></table>`;
  } catch (err) {
    body = markup`<p class="muted">Limits could not be read${
      readFailure(ctx, err)
    }</p>`;
  }
  return markup`<section id="limits"><h2>Limits</h2>${body}</section>`;
}
