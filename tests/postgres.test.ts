/**
 * The conformance suite on the PostgreSQL backend, against a throwaway
 * PostgreSQL 15 server started for this file and stopped after it.
 */

import { postgresBackend } from "../backends/postgres/mod.ts";
import { testBackend } from "./conformance/mod.ts";
import { SOME_TYPES_CASE } from "./conformance/_groups.ts";
import { SOME_TYPES_PROPERTY } from "./conformance/_groups_property.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";

let server: PostgresServer | undefined;

/** A known limitation (README: "A claim of some types" under PostgreSQL). */
const LOWERED =
  "a claim of some types lowers a group's lane to the priority of the job it can take, and the claims after it serve that group at that priority until a job of the group arrives";

testBackend({
  name: "postgres",
  create: () => postgresBackend({ url: server!.url, poolSize: 4 }),
  skip: { [SOME_TYPES_CASE]: LOWERED, [SOME_TYPES_PROPERTY]: LOWERED },
  setup: async () => {
    server = await startPostgres();
  },
  teardown: () => {
    server?.destroy();
    return Promise.resolve();
  },
});
