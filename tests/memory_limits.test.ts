/**
 * Limits on the memory backend beyond the conformance suite (SPEC §7.3,
 * backends/memory/transitions_limits.ts): a worker waiting on a full group,
 * queue or type concurrency limit starts when the running job that fills
 * it reaches the end of its time to live, which no call announces, without
 * waiting for its poll interval; the expiry of jobs that do not run wakes
 * no one (the cases of tests/_support/ttl_wakeups.ts, which Redis runs
 * too).
 *
 * @module
 */

import { describe } from "node:test";
import { memoryBackend } from "../backends/memory/mod.ts";
import { ttlWakeupTests } from "./_support/ttl_wakeups.ts";

describe("memory limits", () => {
  ttlWakeupTests(() => memoryBackend());
});
