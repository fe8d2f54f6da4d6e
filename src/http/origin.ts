/**
 * The public origin of a request: what a browser on the other side of every
 * proxy sees in its address bar. The cross-site check compares a request's
 * `Origin` with it, and the cookie's `Secure` flag follows its scheme.
 *
 * Behind a proxy the request's own `Host` is the proxy's upstream address
 * (nginx sends `Host: 127.0.0.1:5000` unless told otherwise), so a login
 * from the real page would look cross-site. The public origin is therefore,
 * in this order: `PUBLIC_URL` when set (one origin, whatever the headers
 * say); else, behind a trusted proxy (`TRUST_PROXY`), the `Forwarded`
 * (RFC 7239) or `X-Forwarded-Proto` / `X-Forwarded-Host` entry that the
 * trusted hop added; else the request's own scheme and `Host`. Entries to
 * the left of the trusted hop's were written by the client and are never
 * believed.
 */

export type OriginOptions = {
  /** `PUBLIC_URL`'s origin (`https://auth.example.com`), or null. */
  publicUrl: string | null;
  /** `TRUST_PROXY`: how many proxies in front are trusted (0: none). */
  trustProxy: number;
  /** `COOKIE_SECURE`: `always` and `never` override what the request says. */
  cookieSecure: "auto" | "always" | "never";
};

export type Origins = {
  /** `scheme://host[:port]`, lower case, without the scheme's default port. */
  publicOrigin(req: Request): string;
  /** Whether the browser reached the service over HTTPS (cookies get `Secure`). */
  isHttps(req: Request): boolean;
};

/**
 * The entry a trusted proxy added to a list header (`X-Forwarded-For`,
 * `X-Forwarded-Proto`, the elements of `Forwarded`): proxies append, so it is
 * the `hops`-th from the right; anything left of it came from the client.
 */
export function forwardedEntry(header: string | null | undefined, hops: number): string | undefined {
  if (hops <= 0 || !header) return undefined;
  const entries = header.split(",").map((s) => s.trim()).filter(Boolean);
  return entries.length ? entries[Math.max(0, entries.length - hops)] : undefined;
}

/** One parameter (`proto`, `host`) of a `Forwarded` element, quotes removed. */
function forwardedParam(element: string, name: string): string | undefined {
  for (const pair of element.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === name) {
      const v = pair.slice(eq + 1).trim();
      return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
    }
  }
  return undefined;
}

/** `scheme://host[:port]` in lower case, without the scheme's default port. */
export function normalOrigin(scheme: string, host: string): string {
  const s = scheme.toLowerCase();
  const h = host.toLowerCase();
  const bare = (s === "https" && h.endsWith(":443")) || (s === "http" && h.endsWith(":80")) ? h.slice(0, h.lastIndexOf(":")) : h;
  return `${s}://${bare}`;
}

// A host as a proxy may send it: a name or IPv4 address, or a bracketed IPv6 one, and a port.
const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Builds the origin resolver for one configuration.
 *
 * @example const { publicOrigin } = createOrigins({ publicUrl: null, trustProxy: 1, cookieSecure: "auto" });
 *          publicOrigin(new Request("http://127.0.0.1:5000/", { headers: { "x-forwarded-host": "auth.example.com", "x-forwarded-proto": "https" } }));
 *          // "https://auth.example.com"
 */
export function createOrigins({ publicUrl, trustProxy, cookieSecure }: OriginOptions): Origins {
  const fixed = publicUrl === null ? null : new URL(publicUrl);
  const fixedOrigin = fixed === null ? null : normalOrigin(fixed.protocol.slice(0, -1), fixed.host);

  /** What the trusted proxy says the browser asked for: scheme and host, each possibly missing. */
  const proxied = (req: Request): { proto?: string; host?: string } => {
    if (trustProxy <= 0) return {};
    const element = forwardedEntry(req.headers.get("forwarded"), trustProxy);
    let proto = element === undefined ? undefined : forwardedParam(element, "proto");
    let host = element === undefined ? undefined : forwardedParam(element, "host");
    proto ??= forwardedEntry(req.headers.get("x-forwarded-proto"), trustProxy);
    host ??= forwardedEntry(req.headers.get("x-forwarded-host"), trustProxy);
    return {
      proto: proto !== undefined && /^https?$/i.test(proto) ? proto.toLowerCase() : undefined,
      host: host !== undefined && HOST.test(host) ? host : undefined,
    };
  };
  const ownScheme = (req: Request) => (req.url.startsWith("https:") ? "https" : "http");

  return {
    publicOrigin(req) {
      if (fixedOrigin !== null) return fixedOrigin;
      const p = proxied(req);
      return normalOrigin(p.proto ?? ownScheme(req), p.host ?? req.headers.get("host") ?? new URL(req.url).host);
    },
    isHttps(req) {
      if (cookieSecure !== "auto") return cookieSecure === "always";
      if (fixed !== null) return fixed.protocol === "https:";
      return (proxied(req).proto ?? ownScheme(req)) === "https";
    },
  };
}
