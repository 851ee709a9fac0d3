/**
 * The conformance suite on the PostgreSQL backend, against a throwaway
 * PostgreSQL 15 server started for this file and stopped after it.
 */

import { postgresBackend } from "../backends/postgres/mod.ts";
import { testBackend } from "./conformance/mod.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";

let server: PostgresServer | undefined;

testBackend({
  name: "postgres",
  create: () => postgresBackend({ url: server!.url, poolSize: 4 }),
  setup: async () => {
    server = await startPostgres();
  },
  teardown: () => {
    server?.destroy();
    return Promise.resolve();
  },
});
