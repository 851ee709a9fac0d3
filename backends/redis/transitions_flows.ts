/**
 * The flow transitions of the Redis backend (SPEC §12): each one script
 * call (lua_flows.ts), arguments built and reply decoded here. What the
 * other transitions do for a job of a flow (release, cascade, re-arm) runs
 * inside their own scripts, so it is atomic with them.
 *
 * @module
 */

import type {
  FlowRecord,
  NewFlowJobRecord,
  ParentResult,
} from "../../src/backend/interface_flows.ts";
import type { JobError, JobStatus } from "../../src/types.ts";
import { flowField, flowOf, keepField, packJob } from "./records.ts";
import type { Scripts } from "./transitions.ts";

/** A job's arguments of the enqueueFlow script (FLOW_FIELDS in lua_flows.ts). */
function flowArgs(job: NewFlowJobRecord): string[] {
  return [
    job.id,
    job.type,
    String(job.priority),
    String(job.runAt),
    String(job.createdAt),
    packJob(job),
    keepField(job.keep),
    flowField(job.flow),
    job.children.length === 0 ? "" : JSON.stringify(job.children),
    String(Object.keys(job.flow.parents).length),
    String(job.runAt - job.createdAt),
    job.group ?? "",
  ];
}

/** Stores every job of a flow in one script call. */
export async function enqueueFlow(
  s: Scripts,
  queue: string,
  flow: { id: string; jobs: readonly NewFlowJobRecord[] },
  now: number,
): Promise<void> {
  if (flow.jobs.length === 0) return;
  const args = [String(now), flow.id, String(flow.jobs.length)];
  for (const job of flow.jobs) args.push(...flowArgs(job));
  await s.run("enqueueFlow", queue, args);
}

/** Reads a flow's stored jobs, in enqueue order; null when none is. */
export async function getFlow(
  s: Scripts,
  queue: string,
  id: string,
  now: number,
): Promise<FlowRecord | null> {
  const reply = await s.run("getFlow", queue, [String(now), id]) as unknown[];
  if (reply.length === 0) return null;
  const jobs = [];
  for (let i = 0; i + 2 < reply.length; i += 3) {
    const link = flowOf(String(reply[i + 2]));
    jobs.push({
      ref: link.ref,
      id: String(reply[i]),
      status: String(reply[i + 1]) as JobStatus,
      parents: link.parents,
    });
  }
  return { id, jobs };
}

/** Cancels every unfinished job of a flow; true if any changed. */
export async function cancelFlow(
  s: Scripts,
  queue: string,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const error = JSON.stringify({ name: "CancelledError", message: reason });
  const reply = await s.run("cancelFlow", queue, [String(now), id, error]);
  return Number(reply) === 1;
}

/** What the finished parents of a job left, by ref. */
export async function parentResults(
  s: Scripts,
  queue: string,
  id: string,
  now: number,
): Promise<Record<string, ParentResult>> {
  const reply = await s.run("parentResults", queue, [
    String(now),
    id,
  ]) as unknown[];
  const out: Record<string, ParentResult> = {};
  for (let i = 0; i + 2 < reply.length; i += 3) {
    const status = String(reply[i + 1]) as ParentResult["status"];
    const payload = String(reply[i + 2]);
    out[String(reply[i])] = status === "complete"
      ? { status, result: payload, error: null }
      : { status, result: null, error: parseError(payload) };
  }
  return out;
}

function parseError(text: string): JobError {
  try {
    return JSON.parse(text) as JobError;
  } catch {
    return { message: text };
  }
}
