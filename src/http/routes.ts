import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./context.ts";

/**
 * One route of the API, declared once: the app registers its handler, the
 * gate derives from the list which paths skip authentication, the `Allow`
 * header of every path and the answer to CORS preflights, and the OpenAPI
 * document describes it from the same declaration (its zod body schema is
 * the one the handler validates with).
 */
export type Route = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** A Hono path pattern; `:name` matches one path segment. */
  path: string;
  /** Served without authentication (exact path, one trailing slash allowed). */
  public?: boolean;
  /** One line for the reference. */
  summary: string;
  /** The JSON (or form) body it reads, if any. */
  body?: z.ZodType;
  /** The media types it reads that body as; default: JSON only. */
  bodyTypes?: readonly string[];
  /** What it answers, status → description (statuses every route may answer are documented once). */
  responses: Record<number, string>;
  /** The JSON its successful answer carries (an error is always `{"error": string}`). */
  answer?: z.ZodType;
  /** The JSON of an answer that is not `{"error": string}` though its status is 4xx/5xx, by status (the health check's 503). */
  answers?: Partial<Record<number, z.ZodType>>;
  /** The media type of a successful answer that is not JSON (the pages and their files). */
  media?: string;
  /** Needs the session cookie, which its handler checks itself on a public path (the logout alias). */
  sessionOnly?: boolean;
  handler: (c: Context<AppEnv>) => Response | Promise<Response>;
};

/** A path of the route list, with everything the gate needs to know about it. */
export type PathMatch = { path: string; public: boolean; allow: string; allowed: ReadonlySet<string> };

/** The methods a path answers, in a fixed order, plus HEAD with GET and always OPTIONS. */
function allowOf(methods: Set<string>): string[] {
  const order = ["GET", "HEAD", "POST", "PUT", "DELETE"];
  if (methods.has("GET")) methods.add("HEAD");
  return [...order.filter((m) => methods.has(m)), "OPTIONS"];
}

/**
 * Finds the declared path of a request's path as requested (one trailing
 * slash is ignored, like Hono's non-strict routing). Static paths are one
 * Map lookup; a static path wins over a pattern (`/users/me` over
 * `/users/:id`), as in the registration order.
 */
export function createPathMatcher(routes: readonly Route[]): (path: string) => PathMatch | null {
  const methods = new Map<string, Set<string>>();
  const isPublic = new Map<string, boolean>();
  for (const r of routes) {
    if (!methods.has(r.path)) methods.set(r.path, new Set());
    methods.get(r.path)!.add(r.method);
    isPublic.set(r.path, (isPublic.get(r.path) ?? false) || r.public === true);
  }
  const byPath = new Map<string, PathMatch>();
  const patterns: (PathMatch & { segments: (string | null)[] })[] = [];
  for (const [path, set] of methods) {
    const allowed = allowOf(set);
    const match: PathMatch = { path, public: isPublic.get(path)!, allow: allowed.join(", "), allowed: new Set(allowed) };
    if (!path.includes(":")) byPath.set(path, match);
    else patterns.push({ ...match, segments: path.split("/").map((s) => (s.startsWith(":") ? null : s)) });
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
