/**
 * A queue's handle on its backend: the backend given, or the one a URL names,
 * loaded through the scheme table on first use (once, however many calls
 * wait for it); which of them the queue owns (only one it made from a URL);
 * the wrapping of store errors in BackendError; the listeners to end at
 * close; and close itself. It holds no queue rules and must never import a
 * backend module: URLs reach backends only through src/schemes.ts.
 *
 * @module
 */

import type { Backend, BackendEvent, Topic } from "./backend/interface.ts";
import { QueueClosedError, toBackendError } from "./errors.ts";
import { backendLoader } from "./schemes.ts";

/** The backend of one queue, as the queue's operations reach it. */
export interface BackendHandle<Tx> {
  /** True once close() was called. */
  readonly closed: boolean;
  /**
   * The backend, loaded if need be. Rejects with QueueClosedError once
   * closed, and with the loader's error (a BackendError) when loading fails;
   * the next call tries again.
   */
  open(): Promise<Backend<Tx>>;
  /**
   * Runs one backend call; what it throws becomes a BackendError named
   * "`<backend> <what>` failed", unless it is one of jobline's own errors.
   */
  call<T>(what: string, run: (backend: Backend<Tx>) => Promise<T>): Promise<T>;
  /**
   * Listens on a topic of the queue until the returned function is called
   * or the handle closes; at close, `closed` is called first.
   */
  listen(
    topic: Topic,
    deliver: (event: BackendEvent) => void,
    closed: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Ends every listener, then closes the backend if the handle owns it.
   * Later calls do nothing.
   */
  close(): Promise<void>;
}

/**
 * Makes the handle of a queue.
 *
 * @param name The queue's name, for the closed queue's message.
 * @param source A backend object (its owner's to close), or the URL of the
 *   backend to make and own.
 * @returns The handle; nothing is loaded yet.
 * @throws {ValidationError} at once, when the URL is bad.
 */
export function createBackendHandle<Tx>(
  name: string,
  source: { backend: Backend<Tx> } | { url: string },
): BackendHandle<Tx> {
  let backend: Backend<Tx> | undefined = "backend" in source
    ? source.backend
    : undefined;
  const owned = backend === undefined;
  // A URL's backend has the Tx its caller declared: the scheme table cannot
  // know it, and the backend checks a `tx` it is given at run time.
  const load = "url" in source
    ? backendLoader(source.url) as () => Promise<Backend<Tx>>
    : undefined;
  let loading: Promise<Backend<Tx>> | undefined;
  let closed = false;
  const closers = new Set<() => void>();

  function open(): Promise<Backend<Tx>> {
    if (closed) {
      return Promise.reject(
        new QueueClosedError(`Cannot use queue '${name}' as it is closed`),
      );
    }
    if (backend !== undefined) return Promise.resolve(backend);
    loading ??= load!().then((b) => (backend = b), (err) => {
      loading = undefined;
      throw err;
    });
    return loading;
  }

  async function callOpening<T>(
    what: string,
    run: (backend: Backend<Tx>) => Promise<T>,
  ): Promise<T> {
    const b = await open();
    try {
      return await run(b);
    } catch (err) {
      throw toBackendError(err, `${b.name} ${what}`);
    }
  }

  return {
    get closed() {
      return closed;
    },
    open,
    call(what, run) {
      // The backend loaded: no await before the call (a tick saved on the
      // hottest path), the same errors.
      if (backend === undefined || closed) return callOpening(what, run);
      const b = backend;
      const wrap = (err: unknown) => {
        throw toBackendError(err, `${b.name} ${what}`);
      };
      try {
        return run(b).catch(wrap);
      } catch (err) {
        return Promise.reject(toBackendError(err, `${b.name} ${what}`));
      }
    },
    async listen(topic, deliver, onClosed) {
      // The backend loaded: asked at once, as call() runs its operations,
      // so that a listener asked for before an operation hears it (waitFor
      // listens, then a complete in the same turn removes the job).
      const b = backend !== undefined && !closed ? backend : await open();
      let stop: () => Promise<void>;
      try {
        stop = await b.listen(name, topic, deliver);
      } catch (err) {
        throw toBackendError(err, `${b.name} listen`);
      }
      let stopped = false;
      const close = async () => {
        if (stopped) return;
        stopped = true;
        closers.delete(onClose);
        await stop().catch(() => {});
      };
      const onClose = () => {
        onClosed();
        void close();
      };
      closers.add(onClose);
      return close;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const onClose of [...closers]) onClose();
      const b = backend ??
        (loading ? await loading.catch(() => undefined) : undefined);
      if (owned && b !== undefined) await b.close();
    },
  };
}
