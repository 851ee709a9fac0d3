/**
 * The CLI's `dashboard [--port P] [--host H] [--read-only]
 * [--allowed-hosts NAMES]` command: serves the web dashboard of the queue
 * (src/dashboard/, loaded only when the command runs) until the signal of
 * the run aborts (Ctrl-C), then stops it.
 *
 * @module
 */

import { parseInteger, stringOption } from "./args.ts";
import { printable, toJson } from "./format.ts";
import { type Command, UsageError } from "./types.ts";

/** Resolves when the signal aborts (never without one). */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener("abort", () => resolve(), { once: true });
  });
}

const dashboard: Command = {
  usage: "",
  summary: "serve the web dashboard of the queue until Ctrl-C",
  args: [0, 0],
  options: {
    port: {
      type: "string",
      short: "p",
      value: "P",
      help: "the port (default 8080; 0 picks a free one)",
    },
    host: {
      type: "string",
      value: "HOST",
      help: "the address to listen on (default 127.0.0.1)",
    },
    "read-only": {
      type: "boolean",
      help: "offer no action and refuse every change",
    },
    "allowed-hosts": {
      type: "string",
      value: "NAMES",
      help: "the Host names to answer, comma-separated (default: localhost)",
    },
  },
  async run(ctx) {
    const port = parseInteger(
      stringOption(ctx.values, "port") ?? "8080",
      "--port",
      0,
      65_535,
    );
    const hostname = stringOption(ctx.values, "host") ?? "127.0.0.1";
    const hosts = stringOption(ctx.values, "allowed-hosts")?.split(",")
      .map((h) => h.trim()).filter(Boolean);
    if (hosts?.length === 0) {
      // No host at all would refuse every request, the page's own too.
      throw new UsageError("--allowed-hosts names no host");
    }
    const { serveDashboard } = await import("../dashboard/mod.ts");
    const server = await serveDashboard({
      queues: [ctx.queue],
      port,
      hostname,
      readOnly: ctx.values["read-only"] === true,
      ...(hosts === undefined ? {} : { allowedHosts: hosts }),
    }).catch((err: unknown) => {
      if (err instanceof TypeError && /allowedHosts/.test(err.message)) {
        throw new UsageError(`bad --allowed-hosts: ${err.message}`);
      }
      throw err;
    });
    try {
      ctx.print(
        ctx.json
          ? toJson({ url: server.url, port: server.port }, 0)
          : printable(
            `dashboard of queue ${ctx.queue.name} on ${server.url} (Ctrl-C to stop)`,
          ),
      );
      await aborted(ctx.io.signal);
    } finally {
      await server.close();
    }
    return 0;
  },
};

/** The commands of this file, by name. */
export const DASHBOARD_COMMANDS: Record<string, Command> = { dashboard };
