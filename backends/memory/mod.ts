/**
 * The memory backend: the embedded default. Jobs live in this process only.
 * This module is the factory: each queue's state (heap.ts), its listeners,
 * and the calls (calls.ts, the adapter from the Backend methods to the
 * transitions); it holds no job logic of its own.
 *
 * @module
 */

import type { Backend, Topic } from "../../src/backend/interface.ts";
import { createListeners } from "../../src/backend/listeners.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { backendCalls } from "./calls.ts";
import { type Counters, newState, type State } from "./heap.ts";

/**
 * Makes a memory backend: fast, in-process, not persistent. One backend may
 * serve several queues (by name). Close it when you created it yourself.
 *
 * @example Sharing one memory backend between two queues
 * ```ts
 * import { createQueue, memoryBackend } from "@jobline/jobline";
 * const backend = memoryBackend();
 * const emails = createQueue({ backend, name: "emails" });
 * const images = createQueue({ backend, name: "images" });
 * await emails.enqueue("send", { to: "a@example.com" });
 * console.log((await images.stats()).pending); // 0
 * await emails.close();
 * await images.close();
 * await backend.close();
 * ```
 *
 * @returns The backend.
 */
export function memoryBackend(): Backend {
  const listeners = createListeners((err) =>
    console.error("jobline: a memory backend listener threw", err)
  );
  const counters: Counters = { seq: 0 };
  const queues = new Map<string, State>();
  let closed = false;

  function state(queue: string): State {
    if (closed) throw backendClosed("memory");
    let s = queues.get(queue);
    if (s === undefined) {
      s = newState(queue, listeners, counters);
      queues.set(queue, s);
    }
    return s;
  }

  return {
    name: "memory",
    capabilities: {
      persistence: false,
      multiProcess: false,
      crossProcessEvents: false,
      clustering: false,
      wakeups: true,
      transactionalEnqueue: false,
    },
    ...backendCalls(state),

    listen(queue, topic: Topic, listener) {
      try {
        const s = state(queue);
        const stop = listeners.add(queue, topic, listener);
        const updates = topic !== "worker";
        if (updates) s.updateListeners++;
        return Promise.resolve(() => {
          if (stop() && updates) s.updateListeners--;
          return Promise.resolve();
        });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    close() {
      closed = true;
      queues.clear();
      return Promise.resolve();
    },
  };
}
