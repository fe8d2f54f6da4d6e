import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./context.ts";
import { ApiRouter } from "./router.ts";

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

/** What the gate needs to know about a request's path: the methods the route list serves on it, and whether it is public. */
export type PathMatch = {
  public: boolean;
  /** Methods served without authentication on a path that is not public as a whole (`POST /users` under SIGNUP=open). */
  publicMethods: ReadonlySet<string>;
  allow: string;
  allowed: ReadonlySet<string>;
};

/** The methods a path answers, in a fixed order, plus HEAD with GET and always OPTIONS. */
function allowOf(methods: Set<string>): string[] {
  const order = ["GET", "HEAD", "POST", "PUT", "DELETE"];
  if (methods.has("GET")) methods.add("HEAD");
  return [...order.filter((m) => methods.has(m)), "OPTIONS"];
}

/**
 * Finds what the route list serves on a request's path as requested (one
 * trailing slash is ignored, like Hono's non-strict routing), with the
 * router that dispatches the requests (ApiRouter), so the gate's 405,
 * `Allow` and preflights agree with the dispatch: a path takes the methods
 * of every declared path it matches, `/users/me` those of `/users/me` and of
 * `/users/:id` (a PUT or DELETE of `/users/me` is `/users/:id` with the id
 * "me": 404 as in the original, not 405). It is public only when every
 * declared path it matches is public.
 */
export function createPathMatcher(routes: readonly Route[]): (path: string) => PathMatch | null {
  const declared = new Map<string, { methods: Set<string>; publicMethods: Set<string>; public: boolean }>();
  for (const r of routes) {
    const d = declared.get(r.path) ?? { methods: new Set<string>(), publicMethods: new Set<string>(), public: true };
    d.methods.add(r.method);
    if (r.public) d.publicMethods.add(r.method);
    d.public &&= r.public === true;
    declared.set(r.path, d);
  }
  // One entry per declared path, for any method: a match gives every declared path of the request's path.
  const router = new ApiRouter<string>();
  for (const path of declared.keys()) router.add("ALL", path, path);
  // Per set of declared paths matched together (a few, fixed by the list).
  const answers = new Map<string, PathMatch>();
  const find = (path: string): PathMatch | null => {
    const found = router.match("ALL", path)[0];
    if (found.length === 0) return null;
    const key = found.length === 1 ? found[0][0] : found.map(([p]) => p).join(" ");
    let answer = answers.get(key);
    if (!answer) {
      const matched = found.map(([p]) => declared.get(p)!);
      const allowed = allowOf(new Set(matched.flatMap((d) => [...d.methods])));
      // A method is public when every matched path that serves it serves it publicly.
      const publicMethods = new Set(
        allowed.filter((m) => matched.some((d) => d.methods.has(m)) && matched.every((d) => !d.methods.has(m) || d.publicMethods.has(m))),
      );
      answer = { public: matched.every((d) => d.public), publicMethods, allow: allowed.join(", "), allowed: new Set(allowed) };
      answers.set(key, answer);
    }
    return answer;
  };
  // The router's answers for the static paths, asked once: those requests
  // (the session GET's /users/me among them) are then one Map lookup.
  const staticAnswers = new Map<string, PathMatch | null>();
  for (const path of declared.keys()) if (!path.includes(":")) staticAnswers.set(path, find(path));
  return (raw) => {
    const path = raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
    const known = staticAnswers.get(path);
    return known === undefined ? find(path) : known;
  };
}
