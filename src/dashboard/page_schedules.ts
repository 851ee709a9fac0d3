/**
 * The schedules section of the dashboard page, from `queue.schedules()`.
 * Every value goes through the `markup` tag.
 *
 * @module
 */

import type { Queue } from "../queue_types.ts";
import type { Schedule } from "../schedule_types.ts";
import { formatTime, type Html, markup } from "./html.ts";
import { type PageContext, readFailure } from "./page_parts.ts";

function scheduleRow(s: Schedule): Html {
  const when = s.cron !== undefined
    ? `cron ${s.cron} (${s.tz ?? "UTC"})`
    : `every ${s.every} ms`;
  return markup`<tr><td>${s.name}</td><td class="mono">${when}</td>
<td>${s.type}</td><td class="mono">${JSON.stringify(s.data)}</td>
<td class="mono">${formatTime(s.nextRunAt)}</td></tr>`;
}

/** The schedules of a queue, as a section of the page. */
export async function schedulesSection(
  ctx: PageContext,
  queue: Queue,
): Promise<Html> {
  let body: Html;
  try {
    const list = await queue.schedules();
    body = list.length === 0
      ? markup`<p class="muted">No schedules.</p>`
      : markup`<table><thead><tr><th>Name</th><th>When</th><th>Type</th>
<th>Data</th><th>Next run</th></tr></thead>
<tbody>${list.map(scheduleRow)}</tbody></table>`;
  } catch (err) {
    body = markup`<p class="muted">Schedules could not be read${
      readFailure(ctx, err)
    }</p>`;
  }
  return markup`<section id="schedules"><h2>Schedules</h2>${body}</section>`;
}
