import { totpServerSuite } from "./helpers/totp-server.ts";

/** Real servers on kv storage: one code sent to two servers sharing the store, and the CLI's reset (see test/helpers/totp-server.ts). */
totpServerSuite("kv", "shared");
