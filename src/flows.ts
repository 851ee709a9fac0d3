/**
 * The queue's flow calls (SPEC §12): enqueueFlow checks a list of nodes
 * (refs, parents, cycles, size, each job's input) and hands the backend
 * every job with its links resolved to ids; getFlow and cancelFlow are one
 * backend call each. Types are in src/flow_types.ts. It must never hold
 * state of its own: a flow lives in the backend.
 *
 * @module
 */

import type {
  BackendFlows,
  NewFlowJobRecord,
} from "./backend/interface_flows.ts";
import type { Backend } from "./backend/interface.ts";
import { type JobDefaults, prepareJob } from "./enqueue.ts";
import { ValidationError } from "./errors.ts";
import type { FlowNode, QueueFlows } from "./flow_types.ts";
import { newId } from "./id.ts";
import type { BackendHandle } from "./queue_handle.ts";
import {
  checkId,
  checkName,
  checkString,
  invalid,
  isName,
} from "./validate.ts";

/** Enqueue options a job of a flow may not have. */
const BANNED = ["key", "ttl", "tx"] as const;

/** The most jobs one flow may hold. */
export const MAX_FLOW_JOBS = 10_000;

/** What the calls need of the queue. */
export interface FlowsContext<Tx> {
  name: string;
  clock: () => number;
  handle: BackendHandle<Tx>;
  defaults: JobDefaults;
}

/** Makes the flow calls of a queue. */
export function flowCalls<Tx>(c: FlowsContext<Tx>): QueueFlows {
  const { name, clock, handle } = c;
  return {
    async enqueueFlow(nodes) {
      const now = clock();
      const jobs = prepareFlow(nodes, now, c.defaults);
      const id = newId(now);
      for (const job of jobs) job.flow.id = id;
      await handle.call(
        "enqueueFlow",
        (b) => flowsOf(b).enqueueFlow(name, { id, jobs }, { now }),
      );
      return {
        id,
        jobs: Object.fromEntries(jobs.map((j) => [j.flow.ref, j.id])),
      };
    },
    async getFlow(id) {
      checkId(id, "read flow");
      const flow = await handle.call(
        "getFlow",
        (b) => flowsOf(b).getFlow(name, id, { now: clock() }),
      );
      if (flow === null) return null;
      return {
        id: flow.id,
        jobs: flow.jobs.map((j) => ({
          ref: j.ref,
          id: j.id,
          status: j.status,
          dependsOn: Object.keys(j.parents),
        })),
      };
    },
    async cancelFlow(id, reason) {
      checkId(id, "cancel flow");
      const why = reason === undefined
        ? "flow cancelled"
        : checkString(reason, "cancel flow", "reason", 1_000);
      return await handle.call(
        "cancelFlow",
        (b) => flowsOf(b).cancelFlow(name, id, { reason: why, now: clock() }),
      );
    },
  };
}

/**
 * The flow transitions of a backend.
 *
 * @throws {ValidationError} for a backend without them.
 */
export function flowsOf(backend: Backend<unknown>): BackendFlows {
  if (backend.capabilities.flows === false) {
    throw new ValidationError(
      `Cannot use flows as the ${backend.name} backend does not support them`,
    );
  }
  return backend;
}

/**
 * Checks a flow's nodes and makes its job records (the flow id is filled
 * in by the caller), in the order given.
 */
export function prepareFlow(
  nodes: readonly FlowNode[],
  now: number,
  defaults: JobDefaults,
): NewFlowJobRecord[] {
  const act = "enqueue flow";
  if (!Array.isArray(nodes)) throw invalid(act, "nodes", "an array", nodes);
  if (nodes.length === 0 || nodes.length > MAX_FLOW_JOBS) {
    throw invalid(act, "nodes", `1 to ${MAX_FLOW_JOBS} jobs`, nodes.length);
  }
  const flowDefaults = { ...defaults, defaultTtl: undefined };
  const byRef = new Map<string, NewFlowJobRecord>();
  const deps: string[][] = [];
  for (const [i, node] of nodes.entries()) {
    if (node === null || typeof node !== "object") {
      throw invalid(act, `nodes[${i}]`, "an object", node);
    }
    const ref = isName(node.ref)
      ? node.ref
      : checkName(node.ref, act, `nodes[${i}].ref`);
    if (byRef.has(ref)) {
      throw new ValidationError(`Cannot enqueue flow as ref '${ref}' repeats`);
    }
    const options = node.options as Record<string, unknown> | undefined;
    for (const banned of BANNED) {
      if (options?.[banned] !== undefined) {
        throw new ValidationError(
          `Cannot enqueue flow as job '${ref}' has '${banned}': a flow's jobs take no ${banned}`,
        );
      }
    }
    const policy = node.onParentFailure ?? "cancel";
    if (policy !== "cancel" && policy !== "continue") {
      throw invalid(
        act,
        `nodes[${i}].onParentFailure`,
        '"cancel" or "continue"',
        policy,
      );
    }
    deps.push(checkDependsOn(node.dependsOn, ref, i));
    const job = prepareJob(
      node.type,
      node.data,
      node.options,
      now,
      flowDefaults,
    );
    const flowJob = job as NewFlowJobRecord;
    flowJob.flow = { id: "", ref, parents: {}, onParentFailure: policy };
    flowJob.children = [];
    byRef.set(ref, flowJob);
  }
  const jobs = [...byRef.values()];
  for (const [i, job] of jobs.entries()) {
    for (const parentRef of deps[i]!) {
      const parent = byRef.get(parentRef);
      if (parent === undefined) {
        throw new ValidationError(
          `Cannot enqueue flow as job '${job.flow.ref}' depends on unknown ref '${parentRef}'`,
        );
      }
      job.flow.parents[parentRef] = parent.id;
      (parent.children as string[]).push(job.id);
    }
  }
  checkAcyclic(jobs, byRef);
  return jobs;
}

/** Checks one node's `dependsOn`: an array of distinct refs, not its own. */
function checkDependsOn(value: unknown, ref: string, i: number): string[] {
  const act = "enqueue flow";
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw invalid(act, `nodes[${i}].dependsOn`, "an array of refs", value);
  }
  const seen = new Set<string>();
  for (const [j, parent] of value.entries()) {
    if (!isName(parent)) checkName(parent, act, `nodes[${i}].dependsOn[${j}]`);
    if (parent === ref) {
      throw new ValidationError(
        `Cannot enqueue flow as job '${ref}' depends on itself`,
      );
    }
    if (seen.has(parent)) {
      throw new ValidationError(
        `Cannot enqueue flow as job '${ref}' lists '${parent}' twice`,
      );
    }
    seen.add(parent);
  }
  return [...seen];
}

/** Throws a ValidationError naming a cycle, if the jobs have one (Kahn). */
function checkAcyclic(
  jobs: NewFlowJobRecord[],
  byRef: Map<string, NewFlowJobRecord>,
): void {
  const indegree = new Map<string, number>();
  const byId = new Map<string, NewFlowJobRecord>();
  for (const job of jobs) {
    indegree.set(job.id, Object.keys(job.flow.parents).length);
    byId.set(job.id, job);
  }
  const ready = jobs.filter((j) => indegree.get(j.id) === 0);
  let seen = 0;
  while (ready.length > 0) {
    const job = ready.pop()!;
    seen++;
    for (const child of job.children) {
      const left = indegree.get(child)! - 1;
      indegree.set(child, left);
      if (left === 0) ready.push(byId.get(child)!);
    }
  }
  if (seen === jobs.length) return;
  const stuck = [...byRef.values()]
    .filter((j) => indegree.get(j.id)! > 0)
    .map((j) => `'${j.flow.ref}'`)
    .slice(0, 5);
  throw new ValidationError(
    `Cannot enqueue flow as its dependencies form a cycle (through ${
      stuck.join(", ")
    })`,
  );
}

/**
 * What `ctx.parents()` resolves with: the results of a job's finished
 * parents by ref; a parent that failed or was cancelled (under "continue")
 * gives `{ error }`.
 */
export async function parentsOf<Tx>(
  c: Pick<FlowsContext<Tx>, "name" | "clock" | "handle">,
  id: string,
): Promise<Record<string, unknown>> {
  const found = await c.handle.call(
    "parentResults",
    (b) => flowsOf(b).parentResults(c.name, id, { now: c.clock() }),
  );
  const out: Record<string, unknown> = {};
  for (const [ref, p] of Object.entries(found)) {
    out[ref] = p.status === "complete"
      ? JSON.parse(p.result ?? "null")
      : { error: p.error };
  }
  return out;
}
