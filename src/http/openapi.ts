import { z } from "zod";
import { jsonText } from "./respond.ts";
import type { Route } from "./routes.ts";
import { ErrorAnswer } from "./schemas.ts";

/**
 * The OpenAPI 3.1 document of the API, made from the route list itself:
 * every route with its method, path, summary, the zod schema its handler
 * validates the body with (converted by zod's own `z.toJSONSchema`), what it
 * answers, and how it is authenticated. Built once per app.
 */

/** What the document says about the service beyond its routes. */
export type OpenApiOptions = {
  title: string;
  version: string;
  /** The session cookie's name (SESSION_NAME). */
  sessionName: string;
  /** AUTH_TYPE as configured, or "unset". */
  authLabel: string;
};

type Json = Record<string, unknown>;

const JSON_TYPE = "application/json";
const COMPONENT = "#/components/schemas/";

/** Statuses any route may answer, described once and referred to by the operations. */
const COMMON = {
  401: ["Unauthorized", "Unauthorized: the request presents no credentials"],
  403: ["Forbidden", "Forbidden: the credentials name no user, or a cookie-authenticated change comes from another site"],
  404: ["NotFound", "Not found"],
  405: ["MethodNotAllowed", "Method not allowed: the path has no such method (`Allow` lists the ones it has)"],
  413: ["PayloadTooLarge", "Request body too large (MAX_BODY_BYTES)"],
  429: ["TooManyRequests", "Too many failed password checks from this client or for this account; retry after `Retry-After` seconds"],
  500: ["InternalError", "Internal server error (logged)"],
  503: ["StorageUnavailable", "Storage unavailable, try again later (or the server is refusing connections beyond MAX_CONNECTIONS)"],
} as const;

/** Tags, by the first path prefix that matches. */
const TAGS: [prefix: string, tag: string, description: string][] = [
  ["/api/v1/users/me/passkeys", "passkeys", "Passkeys (WebAuthn): register, list and remove them, log in with one"],
  ["/api/v1/auth_session/passkey", "passkeys", ""],
  ["/api/v1/auth_session/sessions", "account", "The current user's sessions and password"],
  ["/api/v1/users/me/password", "account", ""],
  ["/api/v1/auth_session/password_reset", "self-service", "Password reset, email verification and email change, by emailed links"],
  ["/api/v1/auth_session/verify_email", "self-service", ""],
  ["/api/v1/users/me/email", "self-service", ""],
  ["/api/v1/users/me/email_verification", "self-service", ""],
  ["/api/v1/users", "users", "User accounts"],
  ["/api/v1/auth_session", "sessions", "Logging in and out with a session cookie"],
  ["/api/v1/auth_type", "sessions", ""],
  ["/api/v1/openapi.json", "reference", "This document"],
  ["/api/v1/", "service", "The service itself"],
];

/**
 * Whether a route is part of the API the document describes: the pages and
 * their files (the sign-in page, the reference's own HTML and scripts) are
 * for browsers, not operations a client calls.
 */
export function isApiRoute(r: Route): boolean {
  return r.path.startsWith("/api/v1/") && r.media === undefined;
}

/** Converts a zod schema to JSON Schema 2020-12 (OpenAPI 3.1's dialect), lifting named schemas into `schemas`. */
function convert(schema: z.ZodType, io: "input" | "output", schemas: Json): Json {
  const out = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "throw" }) as Json;
  delete out.$schema;
  const text = JSON.stringify(out).replaceAll('"#/$defs/', `"${COMPONENT}`);
  const converted = JSON.parse(text) as Json;
  const defs = (converted.$defs ?? {}) as Record<string, Json>;
  delete converted.$defs;
  for (const [name, def] of Object.entries(defs)) schemas[name] ??= def;
  return converted;
}

/** `/api/v1/users/:id` → `/api/v1/users/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** A stable operation id: `get` + the path's words (`getApiV1UsersById`). */
function operationId(r: Route): string {
  const words = r.path.split("/").filter(Boolean).flatMap((segment) =>
    segment.startsWith(":") ? ["by", segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/)
  );
  const cap = (w: string) => (w ? w[0].toUpperCase() + w.slice(1) : "");
  return r.method.toLowerCase() + (words.length ? words.map(cap).join("") : "Root");
}

const ref = (status: keyof typeof COMMON) => ({ $ref: `#/components/responses/${COMMON[status][0]}` });
const errorContent = { [JSON_TYPE]: { schema: { $ref: `${COMPONENT}Error` } } };

/** The headers an error status comes with. */
function errorHeaders(status: number): Json | undefined {
  const string = { type: "string" };
  if (status === 401) {
    return { "WWW-Authenticate": { description: 'Under basic_auth: `Basic realm="api", charset="UTF-8"`', schema: string } };
  }
  if (status === 405) return { Allow: { description: "The methods the path has", schema: string } };
  if (status === 429) return { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };
  return undefined;
}

/** An error answer: `{"error": ...}`, with its headers. */
function errorResponse(status: number, description: string): Json {
  const headers = errorHeaders(status);
  return { description, ...(headers ? { headers } : {}), content: errorContent };
}

/**
 * The document for a list of routes. Public routes need nothing
 * (`security: []`); the others take HTTP Basic or the session cookie (which
 * of the two depends on AUTH_TYPE, named in the description), the logout
 * routes the cookie only.
 */
export function openApiDocument(routes: readonly Route[], o: OpenApiOptions): Json {
  const schemas: Json = {};
  convert(ErrorAnswer, "output", schemas);
  const paths: Record<string, Json> = {};
  const usedTags = new Set<string>();
  for (const r of routes) {
    if (!isApiRoute(r)) continue;
    const authenticated = !r.public || r.sessionOnly === true;
    const responses: Json = {};
    for (const [code, description] of Object.entries(r.responses)) {
      const status = Number(code);
      const common = COMMON[status as keyof typeof COMMON];
      // A status the gate also answers on this route: both meanings.
      const text = common && authenticated && (status === 401 || status === 403) ? `${description}; or ${common[1]}` : description;
      const own = r.answers?.[status];
      if (own) responses[code] = { description: text, content: { [JSON_TYPE]: { schema: convert(own, "output", schemas) } } };
      else if (status >= 400) responses[code] = errorResponse(status, text);
      else if (status === 204 || status === 304) responses[code] = { description: text };
      else if (r.media) responses[code] = { description: text, content: { [r.media]: { schema: { type: "string" } } } };
      else if (r.answer) {
        responses[code] = { description: text, content: { [JSON_TYPE]: { schema: convert(r.answer, "output", schemas) } } };
      } else responses[code] = { description: text };
    }
    const add = (status: keyof typeof COMMON, when: boolean) => {
      if (when && !(String(status) in responses)) responses[status] = ref(status);
    };
    add(401, authenticated);
    add(403, authenticated);
    add(404, r.path.includes(":"));
    add(413, r.body !== undefined);
    // Basic credentials are throttled like logins.
    add(429, !r.public);
    add(500, true);
    add(503, true);

    const tag = TAGS.find(([prefix]) => r.path === prefix || r.path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`))![1];
    usedTags.add(tag);
    const operation: Json = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [tag],
      security: !authenticated ? [] : r.sessionOnly ? [{ sessionCookie: [] }] : [{ basicAuth: [] }, { sessionCookie: [] }],
    };
    const params = [...r.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string", minLength: 1 },
    }));
    if (params.length) operation.parameters = params;
    if (r.body) {
      const schema = convert(r.body, "input", schemas);
      const types = r.bodyTypes ?? [JSON_TYPE];
      operation.requestBody = {
        required: true,
        content: Object.fromEntries(types.map((t) => [t, { schema }])),
      };
    }
    operation.responses = responses;
    const path = openApiPath(r.path);
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = operation;
  }

  const commonResponses: Json = {};
  for (const [status, [name, description]] of Object.entries(COMMON)) commonResponses[name] = errorResponse(Number(status), description);

  return {
    openapi: "3.1.0",
    info: {
      title: o.title,
      version: o.version,
      license: { name: "MIT", identifier: "MIT" },
      description: [
        "User accounts with HTTP Basic and cookie-session authentication.",
        "",
        `This server runs with AUTH_TYPE ${o.authLabel === "unset" ? "unset: no route checks credentials" : `= ${o.authLabel}`}.`,
        'Every answer under `/api/v1` is JSON; an error is `{"error": "<message>"}`.',
        "A trailing slash is accepted on every path, `HEAD` is answered wherever `GET` is, `OPTIONS` answers 204 with `Allow`,",
        "and any other method is 405 with `Allow`. A malformed `Host` header or request target is 400.",
      ].join("\n"),
    },
    tags: TAGS.filter(([, tag, description]) => description && usedTags.has(tag)).map(([, name, description]) => ({ name, description })),
    paths,
    components: {
      schemas,
      responses: commonResponses,
      securitySchemes: {
        basicAuth: {
          type: "http",
          scheme: "basic",
          description: "AUTH_TYPE=basic_auth: `Authorization: Basic base64(email:password)`.",
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: o.sessionName,
          description: "AUTH_TYPE=session_auth, session_exp_auth or session_db_auth: the HttpOnly cookie a login sets.",
        },
      },
    },
  };
}

/**
 * `GET /api/v1/openapi.json`, public. The document describes the route list
 * this route is part of, so it is made once that list is complete:
 * `document` is called at each request and returns the text made then.
 */
export function openApiRoute(document: () => string): Route {
  return {
    method: "GET",
    path: "/api/v1/openapi.json",
    public: true,
    summary: "This document: the API in OpenAPI 3.1",
    responses: { 200: "The document" },
    answer: z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }) }).meta({
      description: "An OpenAPI 3.1 document",
    }),
    handler: (c) => jsonText(c, document()),
  };
}
