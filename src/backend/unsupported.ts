/**
 * The transitions of what a backend may not support, each rejecting with a
 * ValidationError that names the backend: flows (`capabilities.flows`
 * false) and limits with groups (`capabilities.limits` false). Nothing is
 * ever half stored.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { BackendFlows } from "./interface_flows.ts";
import type { BackendLimits } from "./interface_limits.ts";

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

/**
 * Limit transitions that refuse: for a backend without limits and groups,
 * whose capabilities say `limits: false`.
 *
 * @example
 * ```ts
 * import { noLimits } from "@jobline/jobline/backend";
 * await noLimits("my-store").getLimits("default", { now: Date.now() }).catch((err) => {
 *   console.log(err.name); // "ValidationError"
 * });
 * ```
 *
 * @param name The backend's name, for the message.
 * @returns setLimits and getLimits, each rejecting.
 */
export function noLimits(name: string): BackendLimits {
  const refuse = (): Promise<never> =>
    Promise.reject(
      new ValidationError(
        `Cannot use limits as the ${name} backend does not support them`,
      ),
    );
  return { setLimits: refuse, getLimits: refuse };
}
