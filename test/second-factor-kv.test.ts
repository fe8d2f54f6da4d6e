import { totpServerSuite } from "./helpers/totp-server.ts";

/** Real servers on kv storage: the whole TOTP flow, Basic refused, the startup's refusal (see test/helpers/totp-server.ts). */
totpServerSuite("kv", "flow");
