import { it } from "node:test";
import { HOW_TO_RUN, SERVER_URL } from "./helpers/postgres.ts";
import { postgresDriverTests } from "./postgres/driver.ts";
import { postgresFaultTests } from "./postgres/faults.ts";
import { postgresInputTests } from "./postgres/input.ts";
import { postgresServiceTests } from "./postgres/service.ts";

// Every PostgreSQL test, registered from this one file: without a server
// (DATABASE_URL unset) the suite shows one line saying how to run them.
if (!SERVER_URL) {
  it(`PostgreSQL tests skipped: DATABASE_URL is unset; run them with ${HOW_TO_RUN}`, { skip: true }, () => {});
} else {
  postgresDriverTests();
  postgresServiceTests();
  postgresFaultTests();
  postgresInputTests();
}
