import { totpServerSuite } from "./helpers/totp-server.ts";

/** Real servers on postgres storage: the whole TOTP flow, Basic refused, the startup's refusal (see test/helpers/totp-server.ts). */
totpServerSuite("postgres", "flow");
