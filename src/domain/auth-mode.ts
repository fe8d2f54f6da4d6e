/**
 * AUTH_TYPE, decoded once into what it means. The original's auth types
 * are a class chain; here they are two independent choices: how a request
 * is authenticated (the strategy) and, for sessions, where they live and
 * whether they expire.
 */

export const AUTH_TYPES = ["auth", "basic_auth", "session_auth", "session_exp_auth", "session_db_auth"] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export type AuthMode = {
  /** AUTH_TYPE as configured; null when unset (no authentication). */
  type: AuthType | null;
  /** Nothing checked; every request refused once past the 401 step (the original's base `Auth`); Basic; a session cookie. */
  strategy: "none" | "deny" | "basic" | "session";
  /** Where sessions live: process memory (gone on restart) or the storage; null without sessions. */
  sessions: "memory" | "storage" | null;
  /** Whether SESSION_DURATION applies (`session_auth` sessions never expire, as in the original). */
  expiring: boolean;
  /** How logs and messages name it: the type, or "unset". */
  label: string;
};

/** Decodes an AUTH_TYPE (null: unset). */
export function authMode(type: AuthType | null): AuthMode {
  const label = type ?? "unset";
  switch (type) {
    case null:
      return { type, strategy: "none", sessions: null, expiring: false, label };
    case "auth":
      return { type, strategy: "deny", sessions: null, expiring: false, label };
    case "basic_auth":
      return { type, strategy: "basic", sessions: null, expiring: false, label };
    case "session_auth":
      return { type, strategy: "session", sessions: "memory", expiring: false, label };
    case "session_exp_auth":
      return { type, strategy: "session", sessions: "memory", expiring: true, label };
    case "session_db_auth":
      return { type, strategy: "session", sessions: "storage", expiring: true, label };
  }
}
