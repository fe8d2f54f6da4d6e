import type { Context } from "hono";
import type { UserRecord } from "../domain/records.ts";
import { crc32 } from "../lib/crc32.ts";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import { json } from "./respond.ts";
import type { Route } from "./routes.ts";

/**
 * The pages the service serves itself: the sign-in page at `/` and the API
 * reference at `/api/v1/docs` (Swagger UI, from the swagger-ui-dist
 * package), with the files they load. Nothing comes from another host, so
 * they work behind a firewall. Every file is a public route: the gate
 * authenticates every other path, unknown ones included.
 *
 * The files are read once at startup (src/app/package-files.ts) and served
 * from memory.
 */

/**
 * Scripts and styles from this origin only, no inline script or style
 * attribute, no framing, no form posts elsewhere. `data:` images are for
 * the icons Swagger UI's style sheet embeds.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Where a file of the pages is read from: this package (a path from its root), or a package it depends on. */
export type PageSource = { from: "self"; path: string } | { from: "package"; name: string; path: string };

/** One file of the pages: the path it is served at, what it is, where it comes from. */
export type PageFile = { path: string; media: string; summary: string; source: PageSource };

const own = (file: string): PageSource => ({ from: "self", path: `src/http/pages/${file}` });
const swaggerUi = (file: string): PageSource => ({ from: "package", name: "swagger-ui-dist", path: file });

/** Every file of the pages. */
export const PAGE_FILES: readonly PageFile[] = [
  {
    path: "/",
    media: "text/html",
    summary: "The sign-in page: log in, see your account and sessions, change your password, log out",
    source: own("sign-in.html"),
  },
  { path: "/assets/sign-in.css", media: "text/css", summary: "The sign-in page's style sheet", source: own("sign-in.css") },
  { path: "/assets/sign-in.js", media: "text/javascript", summary: "The sign-in page's script", source: own("sign-in.js") },
  {
    path: "/assets/passkeys.js",
    media: "text/javascript",
    summary: "The sign-in page's passkeys: sign in with one, add and remove them",
    source: own("passkeys.js"),
  },
  {
    path: "/assets/account-flows.js",
    media: "text/javascript",
    summary: "The sign-in page's sign-up, password reset and email address flows",
    source: own("account-flows.js"),
  },
  {
    path: "/assets/user-agent.js",
    media: "text/javascript",
    summary: "Names a session's browser and system for the sign-in page",
    source: own("user-agent.js"),
  },
  {
    path: "/assets/totp.js",
    media: "text/javascript",
    summary: "The sign-in page's two-step verification: the code at login, setting up an authenticator app",
    source: own("totp.js"),
  },
  { path: "/assets/totp.css", media: "text/css", summary: "The two-step verification's style", source: own("totp.css") },
  {
    path: "/assets/qrcode.js",
    media: "text/javascript",
    summary: "Draws the QR code an authenticator app scans (qrcode-generator, MIT)",
    source: { from: "package", name: "qrcode-generator", path: "dist/qrcode.js" },
  },
  { path: "/assets/favicon.svg", media: "image/svg+xml", summary: "The pages' icon", source: own("favicon.svg") },
  {
    path: "/api/v1/docs",
    media: "text/html",
    summary: "The API reference: this document, rendered by Swagger UI",
    source: own("docs.html"),
  },
  { path: "/api/v1/docs/docs.css", media: "text/css", summary: "The reference page's own bar", source: own("docs.css") },
  { path: "/api/v1/docs/docs.js", media: "text/javascript", summary: "Starts Swagger UI on the reference page", source: own("docs.js") },
  { path: "/api/v1/docs/swagger-ui.css", media: "text/css", summary: "Swagger UI's style sheet", source: swaggerUi("swagger-ui.css") },
  {
    path: "/api/v1/docs/swagger-ui-bundle.js",
    media: "text/javascript",
    summary: "Swagger UI",
    source: swaggerUi("swagger-ui-bundle.js"),
  },
];

/** The files' contents, by the path they are served at. */
export type PageContents = ReadonlyMap<string, Uint8Array<ArrayBuffer>>;

/** The headers of every page and file: the policy above, no sniffing, no referrer, no framing. */
export function pageHeaders(media: string): Record<string, string> {
  return {
    "content-type": media.startsWith("text/") || media === "image/svg+xml" ? `${media}; charset=utf-8` : media,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    // Revalidated at each use (a 304 when unchanged): an upgrade shows at once.
    "cache-control": "no-cache",
  };
}

/** Whether an Accept-Encoding header accepts gzip (listed, and not with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.toLowerCase().split(",")) {
    const [coding, ...params] = part.split(";").map((s) => s.trim());
    if (coding !== "gzip" && coding !== "x-gzip") continue;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Gzips bytes with the Web's CompressionStream (Deno, Bun and Node alike). */
async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const etags = new WeakMap<Uint8Array, string>();

/** A file's ETag, from its size and CRC-32: computed at its first request, once per file content. */
function etagOf(body: Uint8Array): string {
  let tag = etags.get(body);
  if (tag === undefined) etags.set(body, tag = `"${body.byteLength.toString(36)}-${crc32(body).toString(36)}"`);
  return tag;
}

/** Files smaller than this are sent as they are: gzip would save next to nothing. (Every file of the pages is text.) */
const GZIP_FROM_BYTES = 1024;

/**
 * The routes of the pages. Without `contents` (unit tests of the API that
 * build the app without reading files) they are still declared, so the
 * route list and the document stay the same, and answer 404.
 *
 * Text files are sent gzipped to clients that accept it (Swagger UI is
 * 1.7 MB as it is, 0.45 MB gzipped), compressed at the first request for
 * them and kept: no startup cost, and no cost for a service nobody browses.
 */
export function pageRoutes(contents: PageContents | undefined): Route[] {
  return PAGE_FILES.map((f) => {
    const body = contents?.get(f.path);
    const compressible = body !== undefined && body.byteLength >= GZIP_FROM_BYTES;
    const plain: Record<string, string> = { ...pageHeaders(f.media), ...(compressible ? { vary: "Accept-Encoding" } : {}) };
    const zipped: Record<string, string> = { ...plain, "content-encoding": "gzip" };
    let gzipped: Promise<Uint8Array<ArrayBuffer>> | null = null;
    return {
      method: "GET",
      path: f.path,
      public: true,
      summary: f.summary,
      media: f.media,
      responses: { 200: f.media === "text/html" ? "The page" : "The file", 304: "Unchanged since the copy named by If-None-Match" },
      handler: async (c) => {
        if (!body) return json(c, { error: "Not found" }, 404);
        const headers = compressible && acceptsGzip(c.req.header("accept-encoding")) ? zipped : plain;
        if (!headers.etag) {
          plain.etag = etagOf(body);
          zipped.etag = plain.etag.replace(/"$/, '-gz"');
        }
        if (c.req.header("if-none-match") === headers.etag) return new Response(null, { status: 304, headers });
        if (headers === plain) return new Response(body, { headers });
        gzipped ??= gzip(body).catch((e) => {
          gzipped = null;
          throw e;
        });
        return new Response(await gzipped, { headers });
      },
    } satisfies Route;
  });
}

/** Where the sign-in page asks who it is signed in as. */
export const PAGE_SESSION_PATH = "/page/session";

/**
 * Judges the sign-in page's `?next=` for a request, signed in or not: the URL
 * to go to, or null (and the refusal is logged); `bounced`, the app's host
 * when it sent a signed-in browser straight back; headers to add.
 */
export type NextCheck = (
  c: Context<AppEnv>,
  raw: string,
  signedIn: boolean,
) => { url: string | null; bounced?: string; headers?: Record<string, string> };

/**
 * `GET /page/session`, for the sign-in page only: 200 `{"user": <user>}`
 * when the request's credentials name a user, else 200 `{"user": null}`.
 * Being signed out is the page's ordinary first state, not an error: asked
 * of `GET /api/v1/users/me`, it is a 401 that browsers log in red in the
 * console. Outside `/api/v1`, so not part of the API (no CORS, not in the
 * OpenAPI document), whose `/users/me` answers as the contract says.
 *
 * With `?next=<url>` (the page's own query, passed on) the answer also
 * holds `"next"`: the URL to go to after a login, or null when the rule
 * (src/lib/next-url.ts) refuses it, and `"bounced": "<host>"` when that app
 * just sent the signed-in browser back (src/http/next-check.ts). The page
 * cannot know COOKIE_DOMAIN or write to the server log, so the server
 * decides and logs.
 */
export function pageSessionRoute(
  authenticate: (c: Context<AppEnv>) => Promise<{ user: UserRecord } | null>,
  checkNext: NextCheck,
  view: (user: UserRecord) => Promise<unknown>,
): Route {
  return {
    method: "GET",
    path: PAGE_SESSION_PATH,
    // The handler authenticates itself, answering "nobody" instead of 401/403.
    public: true,
    summary: "Who the sign-in page is signed in as: the user, or null; with ?next=, where to go after a login",
    media: "application/json",
    responses: { 200: '{"user": <user> or null}, plus "next": <url> or null when asked' },
    handler: async (c) => {
      let user: UserRecord | null = null;
      try {
        user = (await authenticate(c))?.user ?? null;
      } catch (e) {
        if (!(e instanceof HttpError) || (e.status !== 401 && e.status !== 403)) throw e;
      }
      const next = c.req.query("next");
      const answer = { user: user ? await view(user) : null };
      if (next === undefined) return json(c, answer);
      const { url, bounced, headers } = checkNext(c, next, user !== null);
      return json(c, { ...answer, next: url, ...(bounced ? { bounced } : {}) }, 200, headers);
    },
  };
}
