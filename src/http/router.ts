import type { Params, Result, Router } from "hono/router";

/**
 * A Hono router for this API's route table: static paths are one Map
 * lookup, `:name` segments are matched segment by segment, `*` registers
 * a middleware for every path. Hono's RegExpRouter refuses a static route
 * beside a pattern at the same place (`/users/me` and `/users/:id`), after
 * which Hono's default falls back to its TrieRouter: a match of
 * `/users/me` there costs 3-5 times this one's (bench/router-cost.ts).
 * Anything else in a path (a regular expression, an optional or a wildcard
 * segment) is refused when the route is added, so a route this router
 * cannot serve fails at startup, not at request time.
 */
export class ApiRouter<T> implements Router<T> {
  name = "ApiRouter";
  /** Every route in registration order (the order Hono runs their handlers in). */
  #routes: { method: string; path: string; segments: string[] | null; dynamic: boolean; handler: T }[] = [];
  /** Answers for static paths, made at their first request (bounded by the route table). */
  #cache = new Map<string, Result<T>>();
  #methods = new Set<string>();
  #staticPaths = new Set<string>();

  /** How many answers are kept (at most one per method and static path of the table). */
  get keptAnswers(): number {
    return this.#cache.size;
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
    const key = `${method} ${path}`;
    const cached = this.#cache.get(key);
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
    if (this.#methods.has(method) && this.#staticPaths.has(path)) this.#cache.set(key, result);
    return result;
  }
}
