/**
 * Every path the API answers, with its methods, declared once: the 405
 * answers and their `Allow` header, the CORS preflight, and the paths that
 * skip authentication all derive from this table (the handlers themselves
 * are registered in app.ts and must match it; a test checks they do).
 */
export type RouteSpec = {
  /** A Hono path pattern; `:name` matches one path segment. */
  path: string;
  /** Methods with a handler; HEAD is added for GET, OPTIONS for all. */
  methods: readonly string[];
  /** Served without authentication (exact path, one trailing slash allowed). */
  public?: boolean;
};

export const ROUTES: readonly RouteSpec[] = [
  { path: "/api/v1/status", methods: ["GET"], public: true },
  { path: "/api/v1/stats", methods: ["GET"] },
  { path: "/api/v1/unauthorized", methods: ["GET"], public: true },
  { path: "/api/v1/forbidden", methods: ["GET"], public: true },
  { path: "/api/v1/users", methods: ["GET", "POST"] },
  // Before /users/:id: "me" is not an id, and only GET serves it.
  { path: "/api/v1/users/me", methods: ["GET"] },
  { path: "/api/v1/users/:id", methods: ["GET", "PUT", "DELETE"] },
  { path: "/api/v1/auth_session/login", methods: ["POST"], public: true },
  { path: "/api/v1/auth_session/logout", methods: ["DELETE"] },
  // The seed README's aliases of login and logout. The path is public for
  // the login; the logout authenticates itself (see session-routes.ts).
  { path: "/api/v1/auth_session", methods: ["POST", "DELETE"], public: true },
];

/** A route found for a path, with its `Allow` header value. */
export type RouteMatch = { spec: RouteSpec; allow: string; allowed: ReadonlySet<string> };

type Compiled = RouteMatch & { segments: (string | null)[] };

/**
 * Finds the route of a path as requested (one trailing slash is ignored,
 * like Hono's non-strict routing). Static paths are one Map lookup.
 */
export function createRouteMatcher(routes: readonly RouteSpec[] = ROUTES): (path: string) => RouteMatch | null {
  const byPath = new Map<string, RouteMatch>();
  const patterns: Compiled[] = [];
  for (const spec of routes) {
    const methods = [...spec.methods, ...(spec.methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
    const match: RouteMatch = { spec, allow: methods.join(", "), allowed: new Set(methods) };
    if (!spec.path.includes(":")) {
      if (!byPath.has(spec.path)) byPath.set(spec.path, match);
    } else patterns.push({ ...match, segments: spec.path.split("/").map((s) => (s.startsWith(":") ? null : s)) });
  }
  return (raw) => {
    const path = raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
    const hit = byPath.get(path);
    if (hit) return hit;
    if (patterns.length === 0) return null;
    const parts = path.split("/");
    for (const p of patterns) {
      if (p.segments.length !== parts.length) continue;
      if (p.segments.every((s, i) => (s === null ? parts[i] !== "" : s === parts[i]))) return p;
    }
    return null;
  };
}
