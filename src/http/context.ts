import type { Resolved } from "../auth/sessions.ts";
import type { UserRecord } from "../domain/records.ts";

/** Hono context variables the gate sets. */
export type AppEnv = {
  Variables: {
    /** The authenticated user, null when none (no auth type, a public path). */
    user: UserRecord | null;
    /** The session the request authenticated with; null under Basic auth and on public paths. */
    session: Resolved | null;
    /** The request's Origin is listed in CORS_ORIGINS: answers allow credentials. */
    corsCredentials: boolean;
  };
};
