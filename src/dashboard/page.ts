/**
 * The dashboard page, `GET BASE`, rendered on the server: the queues with
 * their counts and pause state, then either one queue (its types, its jobs
 * of a status with paging and search, its schedules and limits) or one
 * job (page_job.ts). Every value goes through the `markup` tag, which
 * escapes it; the inline script (page_script.ts) keeps it live. It must
 * never put a value into the page unescaped.
 *
 * @module
 */

import type { Job } from "../types.ts";
import {
  findJobs,
  type JobPage,
  type QueueSummary,
  statusesOf,
} from "./api.ts";
import { formatTime, Html, markup, query } from "./html.ts";
import { jobView } from "./page_job.ts";
import {
  button,
  hiddenIf,
  jobActions,
  type PageContext,
} from "./page_parts.ts";
import { schedulesSection } from "./page_schedules.ts";
import { limitsSection } from "./page_limits.ts";
import { SCRIPT } from "./page_script.ts";
import { STYLE } from "./page_style.ts";

/** The page's parameters, from its query string. */
interface View {
  queue: string;
  status: string;
  type: string;
  q: string;
  cursor: string;
  job: string;
}

type Counts = Record<string, number>;

function queuesTable(
  ctx: PageContext,
  all: QueueSummary[],
  current: string,
): Html {
  const statuses = all[0] ? statusesOf(all[0].stats) : [];
  const rows = all.map((s) => {
    const counts = s.stats as unknown as Counts;
    const cells = statuses.map((st) =>
      markup`<td class="num"><a data-count="${st}" href="${ctx.base}${
        query({ queue: s.name, status: st })
      }">${counts[st] ?? 0}</a></td>`
    );
    const data = { queue: s.name };
    return markup`<tr data-queue-row="${s.name}" class="${
      s.name === current ? "current" : ""
    }"><td><a href="${ctx.base}${query({ queue: s.name })}">${s.name}</a></td>
${cells}<td data-paused>${s.paused ? "paused" : "running"}</td>
<td>${button(ctx, "pause", "Pause", data, { hidden: s.paused })}${
      button(ctx, "resume", "Resume", data, { hidden: !s.paused })
    }</td></tr>`;
  });
  const heads = statuses.map((s) => markup`<th class="num">${s}</th>`);
  return markup`<section id="queues"><h2>Queues</h2><table><thead><tr>
<th>Queue</th>${heads}<th>State</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

function typesTable(ctx: PageContext, s: QueueSummary): Html {
  const statuses = statusesOf(s.stats);
  // The types with jobs, and those paused without any (to resume them).
  const types = new Set([...Object.keys(s.stats.byType), ...s.pausedTypes]);
  const rows = [...types].sort().map((type) => {
    const c = (s.stats.byType[type] ?? {}) as unknown as Counts;
    const paused = s.pausedTypes.includes(type);
    const cells = statuses.map((st) =>
      markup`<td class="num">${c[st] ?? 0}</td>`
    );
    const act = paused
      ? button(ctx, "resume", "Resume", { type })
      : button(ctx, "pause", "Pause", { type });
    return markup`<tr data-type="${type}"><td>${type}</td>${cells}
<td>${paused ? "paused" : "running"}</td><td>${act}</td></tr>`;
  });
  const pauseForm = ctx.readOnly
    ? null
    : markup`<form class="bar" data-post="pause">
<label>Pause a type <input name="type" required placeholder="type"></label>
<button type="submit">Pause type</button></form>`;
  const heads = statuses.map((st) => markup`<th class="num">${st}</th>`);
  return markup`<h3>Types</h3><table><thead><tr><th>Type</th>${heads}
<th>State</th><th></th></tr></thead><tbody id="types">${rows}</tbody></table>
${pauseForm}`;
}

/** One row of the job list (the script builds the same). */
function jobRow(ctx: PageContext, queue: string, job: Job): Html {
  const href = `${ctx.base}${query({ queue, job: job.id })}`;
  return markup`<tr data-job-id="${job.id}">
<td class="mono"><a href="${href}">${job.id}</a></td><td>${job.type}</td>
<td><span class="badge s-${job.status}">${job.status}</span></td>
<td class="num">${job.attempt}/${job.maxAttempts}</td>
<td class="nowrap"><progress max="1" value="${job.progress}"></progress> ${
    Math.round(job.progress * 100)
  }%</td><td class="mono">${job.key ?? ""}</td>
<td class="mono">${formatTime(job.createdAt)}</td>
<td class="mono">${formatTime(job.updatedAt)}</td>
<td class="nowrap">${jobActions(ctx, job)}</td></tr>`;
}

function statusTabs(ctx: PageContext, s: QueueSummary, view: View): Html[] {
  const counts = s.stats as unknown as Counts;
  const statuses = statusesOf(s.stats);
  const total = statuses.reduce((n, st) => n + (counts[st] ?? 0), 0);
  const tabs: [string, string, number][] = [
    ["", "all", total],
    ...statuses.map((
      st,
    ): [string, string, number] => [st, st, counts[st] ?? 0]),
  ];
  return tabs.map(([st, label, n]) =>
    markup`<a class="${view.status === st ? "on" : ""}" href="${ctx.base}${
      query({ queue: s.name, status: st, q: view.q })
    }">${label} <span data-tab-count="${st}">${n}</span></a>`
  );
}

function jobsSection(
  ctx: PageContext,
  s: QueueSummary,
  view: View,
  page: JobPage,
): Html {
  const link = (params: Partial<View>): string =>
    `${ctx.base}${query({ ...view, job: "", ...params })}`;
  const next = page.cursor === null
    ? null
    : markup`<a id="next" href="${
      link({ cursor: page.cursor })
    }">Next page →</a>`;
  const first = view.cursor === ""
    ? null
    : markup`<a href="${link({ cursor: "" })}">← First page</a>`;
  const clear = view.q === ""
    ? null
    : markup` <a href="${link({ q: "", cursor: "" })}">clear</a>`;
  const scanned = page.scanned === undefined
    ? null
    : markup` <span class="muted">searched ${page.scanned} jobs by key</span>`;
  return markup`<h3>Jobs</h3><div class="bar tabs">${
    statusTabs(ctx, s, view)
  }</div>
<form class="bar" method="get" action="${ctx.base}">
<input type="hidden" name="queue" value="${s.name}">
<input type="hidden" name="status" value="${view.status}">
<input name="q" value="${view.q}" placeholder="id, type or key" size="32">
<button type="submit">Search</button>${clear}${scanned}</form>
<table><thead><tr><th>Id</th><th>Type</th><th>Status</th>
<th class="num">Attempts</th><th>Progress</th><th>Key</th>
<th>Created (UTC)</th><th>Updated (UTC)</th><th></th></tr></thead>
<tbody id="jobs">${page.jobs.map((j) => jobRow(ctx, s.name, j))}</tbody></table>
<p id="jobs-empty" class="muted"${
    hiddenIf(page.jobs.length > 0)
  }>No jobs here.</p>
<div class="bar">${first} ${next}</div>`;
}

async function queueView(
  ctx: PageContext,
  s: QueueSummary,
  view: View,
): Promise<Html> {
  const queue = ctx.queues.get(s.name)!;
  const page = await findJobs(queue, { ...view, limit: ctx.pageSize });
  const options = ["complete", "failed", "cancelled", "pending"].map((st) =>
    markup`<option>${st}</option>`
  );
  const actions = ctx.readOnly ? null : markup`<div class="bar">
${button(ctx, "retry-failed", "Retry all failed")}
<form class="bar" data-post="clean"><label>Clean
<select name="status">${options}</select></label>
<label>older than <input name="minutes" type="number" min="0" value="60"> min</label>
<button type="submit" class="danger">Clean</button></form></div>`;
  return markup`<section id="queue"><h2>Queue ${s.name}
<span id="queue-paused" class="badge paused"${
    hiddenIf(!s.paused)
  }>paused</span></h2>
${actions}${typesTable(ctx, s)}${jobsSection(ctx, s, view, page)}</section>
${await schedulesSection(ctx, queue)}${await limitsSection(ctx, queue)}`;
}

function layout(
  ctx: PageContext,
  view: View,
  summaries: QueueSummary[],
  main: Html,
): Html {
  const statuses = summaries[0] ? statusesOf(summaries[0].stats) : [];
  const readOnly = ctx.readOnly
    ? markup`<span class="ro">read-only</span>`
    : null;
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>jobline · ${view.queue}</title>
<style nonce="${ctx.nonce}">${new Html(STYLE)}</style></head>
<body data-base="${ctx.base}" data-queue="${view.queue}" data-status="${view.status}"
 data-type="${view.type}" data-q="${view.q}" data-cursor="${view.cursor}"
 data-job="${view.job}" data-limit="${ctx.pageSize}"
 data-readonly="${ctx.readOnly ? "1" : ""}" data-statuses="${
    statuses.join(" ")
  }">
<header class="top"><a class="brand" href="${ctx.base}">jobline</a>
<span class="spacer"></span>${readOnly}<span id="live" class="live">connecting</span></header>
<main>${queuesTable(ctx, summaries, view.queue)}${main}</main>
<div id="notice" role="status"></div>
<script nonce="${ctx.nonce}">${new Html(SCRIPT)}</script>
</body></html>`;
}

/**
 * Renders the page for a query string.
 *
 * @returns The HTTP status (404 for an unknown queue or job) and the HTML.
 */
export async function renderPage(
  ctx: PageContext,
  params: URLSearchParams,
  summaries: QueueSummary[],
): Promise<{ status: number; body: string }> {
  const get = (k: string): string => params.get(k) ?? "";
  const view: View = {
    queue: get("queue") || summaries[0]!.name,
    status: get("status"),
    type: get("type"),
    q: get("q"),
    cursor: get("cursor"),
    job: get("job"),
  };
  const summary = summaries.find((s) => s.name === view.queue);
  let main: Html;
  let status = 200;
  if (summary === undefined) {
    status = 404;
    main = markup`<section><h2>No queue ${view.queue}</h2></section>`;
  } else if (view.job !== "") {
    const shown = await jobView(ctx, ctx.queues.get(summary.name)!, view.job);
    status = shown.status;
    main = shown.body;
  } else {
    main = await queueView(ctx, summary, view);
  }
  return { status, body: layout(ctx, view, summaries, main).text };
}
