import type { UserRecord } from "../domain/records.ts";

/** Hono context variables set by the middleware. */
export type AppEnv = {
  Variables: {
    /** The authenticated user, null when none (no auth type, excluded path). */
    user: UserRecord | null;
  };
};
