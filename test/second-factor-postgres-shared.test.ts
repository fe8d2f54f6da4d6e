import { totpServerSuite } from "./helpers/totp-server.ts";

/** Real servers on postgres storage: one code sent to two servers sharing the store, and the CLI's reset (see test/helpers/totp-server.ts). */
totpServerSuite("postgres", "shared");
