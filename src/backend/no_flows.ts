/**
 * The flow transitions of a backend that does not store flows (its
 * `capabilities.flows` is false): each rejects with a ValidationError that
 * names the backend, so a flow is never half stored.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { BackendFlows } from "./interface_flows.ts";

/**
 * Flow transitions that refuse: for a backend without flows, whose
 * capabilities say `flows: false`.
 *
 * @example
 * ```ts
 * import { noFlows } from "@jobline/jobline/backend";
 * const flows = noFlows("my-store");
 * await flows.getFlow("default", "01J...", { now: Date.now() }).catch((err) => {
 *   console.log(err.name); // "ValidationError"
 * });
 * ```
 *
 * @param name The backend's name, for the message.
 * @returns The four flow methods, each rejecting.
 */
export function noFlows(name: string): BackendFlows {
  const refuse = (): Promise<never> =>
    Promise.reject(
      new ValidationError(
        `Cannot use flows as the ${name} backend does not support them`,
      ),
    );
  return {
    enqueueFlow: refuse,
    getFlow: refuse,
    cancelFlow: refuse,
    parentResults: refuse,
  };
}
