import type { Params, Result, Router } from "hono/router";

/**
 * A Hono router for this API's route table: static paths are one Map
 * lookup, `:name` segments are matched segment by segment, `*` registers
 * a middleware for every path. Hono's RegExpRouter refuses a static route
 * beside a pattern at the same place (`/users/me` and `/users/:id`); of
 * Hono's routers that accept the table, the fastest took 7-19 times as long
 * for `GET /users/me` (`bench/router.ts`: 0.03-0.08 µs here against
 * 0.53-0.69), 2.6-4.9 times over every route.
 * The gate finds a path's methods with it too (routes.ts), so 405, `Allow`
 * and the dispatch agree. Anything else in a path (a regular expression,
 * an optional or a wildcard segment) is refused when the route is added, so
 * a route this router cannot serve fails at startup, not at request time.
 */
export class ApiRouter<T> implements Router<T> {
  name = "ApiRouter";
  /** Every route in registration order (the order Hono runs their handlers in). */
  #routes: { method: string; path: string; segments: string[] | null; dynamic: boolean; handler: T }[] = [];
  /** Answers for static paths by method and path, made at their first request (bounded by the route table). */
  #cache = new Map<string, Map<string, Result<T>>>();
  #methods = new Set<string>();
  #staticPaths = new Set<string>();

  /** How many answers are kept (at most one per method and static path of the table). */
  get keptAnswers(): number {
    let n = 0;
    for (const byPath of this.#cache.values()) n += byPath.size;
    return n;
  }

  add(method: string, path: string, handler: T): void {
    if (path === "/*") path = "*";
    let segments: string[] | null = null;
    if (path !== "*") {
      if (!path.startsWith("/") || /[*?{}()]/.test(path)) throw new Error(`ApiRouter cannot serve the path ${path}`);
      segments = path.split("/");
    }
    const dynamic = path.includes("/:");
    this.#routes.push({ method, path, segments, dynamic, handler });
    this.#methods.add(method);
    if (segments !== null && !dynamic) this.#staticPaths.add(path);
    this.#cache.clear();
  }

  match(method: string, path: string): Result<T> {
    // Two lookups rather than one of "method path": a new key string would be hashed in full on every request.
    const cached = this.#cache.get(method)?.get(path);
    if (cached) return cached;
    const found: [T, Params][] = [];
    let parts: string[] | null = null;
    for (const r of this.#routes) {
      if (r.method !== method && r.method !== "ALL") continue;
      if (r.segments === null) {
        found.push([r.handler, {}]);
        continue;
      }
      if (!r.dynamic) {
        if (r.path === path) found.push([r.handler, {}]);
        continue;
      }
      parts ??= path.split("/");
      if (r.segments.length !== parts.length) continue;
      const params: Params = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const s = r.segments[i];
        if (s.startsWith(":")) {
          if (parts[i] === "") ok = false;
          else params[s.slice(1)] = parts[i];
        } else ok = s === parts[i];
      }
      if (!ok) continue;
      found.push([r.handler, params]);
    }
    const result: Result<T> = [found];
    // Kept for the static paths and the methods of the table (a bounded set,
    // whatever methods and paths clients send): their answer, parameters of
    // a pattern they also match included, never changes.
    if (this.#methods.has(method) && this.#staticPaths.has(path)) {
      const byPath = this.#cache.get(method) ?? new Map<string, Result<T>>();
      this.#cache.set(method, byPath.set(path, result));
    }
    return result;
  }
}
