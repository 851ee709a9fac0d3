/**
 * One job on the dashboard page (`BASE?queue=Q&job=ID`): its fields,
 * progress, timestamps, data, result, metadata, and error with stack, each
 * in an element named by `data-field` so that the page's script can refresh
 * it with `textContent`. Every value goes through the `markup` tag. It must
 * never put a job's value into the page unescaped.
 *
 * @module
 */

import type { Queue } from "../queue_types.ts";
import type { Job } from "../types.ts";
import { HttpError, jobOr404 } from "./api.ts";
import { formatJson, formatTime, type Html, markup, query } from "./html.ts";
import { jobActions, type PageContext } from "./page_parts.ts";

/**
 * The job section of the page, or a "no such job" section with 404.
 *
 * @param ctx The page's context.
 * @param queue The job's queue.
 * @param id The job's id.
 * @returns The status and the section.
 */
export async function jobView(
  ctx: PageContext,
  queue: Queue,
  id: string,
): Promise<{ status: number; body: Html }> {
  const back = markup`<a href="${ctx.base}${
    query({ queue: queue.name })
  }">← queue ${queue.name}</a>`;
  let job;
  try {
    job = await jobOr404(queue, id);
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 404) throw err;
    return {
      status: 404,
      body: markup`<section id="job"><p>${back}</p>
<h2>No job ${id} in queue ${queue.name}</h2>
<p class="muted">It may have been removed, or expired.</p></section>`,
    };
  }
  const field = (name: string, label: string, value: unknown): Html =>
    markup`<dt>${label}</dt><dd data-field="${name}">${
      value === undefined || value === "" ? "—" : value
    }</dd>`;
  const pre = (name: string, label: string, value: string): Html =>
    markup`<h3>${label}</h3><pre data-field="${name}">${value}</pre>`;
  const actions = jobActions(ctx, job);
  const err = job.error;
  const body = markup`<section id="job"><p>${back}</p>
<h2>Job <span class="mono">${job.id}</span></h2><div class="bar">${actions}</div>
<dl class="fields">
${field("type", "Type", job.type)}
${field("status", "Status", job.status)}
<dt>Progress</dt><dd><progress id="job-progress" max="1" value="${job.progress}"></progress>
<span data-field="progress">${Math.round(job.progress * 100)}%</span></dd>
${field("message", "Message", job.message)}
${field("attempts", "Attempts", `${job.attempt} of ${job.maxAttempts}`)}
${field("priority", "Priority", job.priority)}
${field("key", "Key", job.key)}
${field("createdAt", "Created", formatTime(job.createdAt))}
${field("runAt", "Runs at", formatTime(job.runAt))}
${field("startedAt", "Started", formatTime(job.startedAt))}
${field("completedAt", "Finished", formatTime(job.completedAt))}
${field("updatedAt", "Updated", formatTime(job.updatedAt))}
${field("expiresAt", "Expires", formatTime(job.expiresAt))}
${field("timeout", "Timeout (ms)", job.timeout)}
${field("version", "Version", job.version)}
${field("flow", "Flow", flowText(job))}
</dl>
${pre("data", "Data", formatJson(job.data))}
${pre("result", "Result", formatJson(job.result))}
<h3>Error</h3><dl class="fields">${field("errorName", "Name", err?.name)}${
    field("errorMessage", "Message", err?.message)
  }</dl>
${pre("stack", "Stack", err?.stack ?? "—")}
${pre("metadata", "Metadata", formatJson(job.metadata))}
</section>`;
  return { status: 200, body };
}

/** A flow job's place: "resize of 01J…, after fetch" (as the live script). */
function flowText(job: Job): string | undefined {
  const f = job.flow;
  if (f === undefined) return undefined;
  const after = f.dependsOn.length > 0
    ? `, after ${f.dependsOn.join(", ")}`
    : "";
  return `${f.ref} of ${f.id}${after}`;
}
