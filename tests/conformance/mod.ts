/**
 * The backend conformance suite: every rule of the specification's §4 as a
 * `node:test` case, so one suite checks every backend (memory, SQLite, Redis,
 * PostgreSQL, or your own) under Deno, Node and Bun alike.
 *
 * Cases where time is the subject move a fake clock (the queue's `clock`
 * option) instead of sleeping; the few that need real time (workers,
 * cancellation, wake-ups) use generous bounds.
 *
 * @example Checking a backend of your own
 * ```ts
 * import { testBackend } from "@jobline/jobline/testing";
 * import { memoryBackend } from "@jobline/jobline";
 *
 * testBackend({ name: "memory", create: () => memoryBackend() });
 * ```
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import type { Backend } from "../../src/backend/interface.ts";
import { type Case, runCase } from "./_context.ts";
import { cancelCases } from "./_cancel.ts";
import { cleanCases } from "./_clean.ts";
import { delayCases } from "./_delay.ts";
import { errorCases } from "./_errors.ts";
import { inputCases } from "./_input.ts";
import { keyCases } from "./_keys.ts";
import { leaseCases } from "./_leases.ts";
import { modelCases } from "./_model.ts";
import { orderCases } from "./_order.ts";
import { pauseCases } from "./_pause.ts";
import { prefetchCases } from "./_prefetch.ts";
import { propertyCases } from "./_property.ts";
import { releaseCases } from "./_release.ts";
import { requeueCases } from "./_requeue.ts";
import { rescheduleCases } from "./_reschedule.ts";
import { retentionCases } from "./_retention.ts";
import { retryCases } from "./_retries.ts";
import { scheduleCases } from "./_schedules.ts";
import { flowCases } from "./_flows.ts";
import { flowFailureCases } from "./_flows_failure.ts";
import { limitCases } from "./_limits.ts";
import { groupCases } from "./_groups.ts";
import { groupPropertyCases } from "./_groups_property.ts";
import { handOffCases } from "./_handoff.ts";
import { stopCases } from "./_stop.ts";
import { timeoutCases } from "./_timeout.ts";
import { tokenCases } from "./_tokens.ts";
import { ttlCases } from "./_ttl.ts";
import { updateCases } from "./_updates.ts";
import { waitCases } from "./_wait.ts";
import { workerCases } from "./_worker.ts";

/**
 * How to run the conformance suite on a backend.
 *
 * @example
 * ```ts
 * import type { BackendSuiteOptions } from "@jobline/jobline/testing";
 * import { memoryBackend } from "@jobline/jobline";
 *
 * const options: BackendSuiteOptions = {
 *   name: "memory",
 *   create: () => memoryBackend(),
 *   skip: { "a case name": "why this backend cannot pass it" },
 * };
 * ```
 */
export interface BackendSuiteOptions {
  /** The backend's name, shown as `conformance: <name>`. */
  name: string;
  /**
   * Makes a fresh backend. Called once per case; the suite closes it after
   * the case. Each case uses queues of fresh random names, so backends that
   * share one server (or one database file) are fine.
   */
  create: () => Backend | Promise<Backend>;
  /**
   * Cases to skip: case name to the reason, which the test runner prints.
   * An empty reason is an error.
   */
  skip?: Record<string, string>;
  /** Runs once before the cases (start a server here). */
  setup?: () => Promise<void>;
  /** Runs once after the cases (stop the server here). */
  teardown?: () => Promise<void>;
}

/**
 * Every case of the suite, in the order they run.
 *
 * @example Listing the case names
 * ```ts
 * import { conformanceCases } from "@jobline/jobline/testing";
 * for (const name of conformanceCases()) console.log(name);
 * ```
 *
 * @returns The case names.
 */
export function conformanceCases(): string[] {
  return allCases().map((c) => c.name);
}

function allCases(): Case[] {
  return [
    ...orderCases,
    ...leaseCases,
    ...tokenCases,
    ...releaseCases,
    ...requeueCases,
    ...retryCases,
    ...errorCases,
    ...delayCases,
    ...cancelCases,
    ...ttlCases,
    ...keyCases,
    ...updateCases,
    ...waitCases,
    ...pauseCases,
    ...rescheduleCases,
    ...retentionCases,
    ...cleanCases,
    ...scheduleCases,
    ...flowCases,
    ...flowFailureCases,
    ...limitCases,
    ...groupCases,
    ...groupPropertyCases,
    ...workerCases,
    ...stopCases,
    ...timeoutCases,
    ...prefetchCases,
    ...handOffCases,
    ...inputCases,
    ...modelCases,
    ...propertyCases,
  ];
}

/**
 * Registers the conformance suite for a backend with `node:test`:
 * `describe("conformance: <name>")` with one `test()` per case. Call it at
 * the top level of a test file; run that file with `deno test -A`,
 * `node --test` or `bun test`.
 *
 * @example A backend test file
 * ```ts
 * import { testBackend } from "@jobline/jobline/testing";
 * import { memoryBackend } from "@jobline/jobline";
 *
 * testBackend({ name: "memory", create: () => memoryBackend() });
 * ```
 *
 * @param options The backend factory, skips, and setup/teardown hooks.
 * @throws {TypeError} when a skip names no case or gives no reason.
 */
export function testBackend(options: BackendSuiteOptions): void {
  const { name, create, skip = {}, setup, teardown } = options;
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Cannot register suite as 'name' must be non-empty");
  }
  if (typeof create !== "function") {
    throw new TypeError("Cannot register suite as 'create' must be a function");
  }
  const cases = allCases();
  const names = new Set(cases.map((c) => c.name));
  for (const [caseName, reason] of Object.entries(skip)) {
    if (!names.has(caseName)) {
      throw new TypeError(
        `Cannot skip case as no case is named ${JSON.stringify(caseName)}`,
      );
    }
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new TypeError(
        `Cannot skip case ${JSON.stringify(caseName)} without a reason`,
      );
    }
  }
  describe(`conformance: ${name}`, () => {
    if (setup) before(setup);
    if (teardown) after(teardown);
    for (const c of cases) {
      const reason = skip[c.name];
      if (reason !== undefined) {
        // Deno and Bun do not print a skip's reason, so the name carries it.
        test(`${c.name} [skipped: ${reason}]`, { skip: reason }, () => {});
        continue;
      }
      test(c.name, { timeout: c.timeout ?? 30_000 }, () => runCase(c, create));
    }
  });
}
