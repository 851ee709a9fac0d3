/**
 * The memory backend against the whole conformance suite, with no skips.
 *
 * @module
 */

import { memoryBackend } from "../backends/memory.ts";
import { testBackend } from "./conformance/mod.ts";

testBackend({ name: "memory", create: () => memoryBackend() });
