/**
 * A host as RFC 3986 allows it in a Host header: a registered name or IPv4
 * address, or an IPv6 literal in brackets, then an optional port. No "/",
 * "?", "#", "@" or space: those would move the path the app routes on.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z._~-]+)?\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/;

/** True for a Host header value that is a plain host[:port]. */
export function isValidHost(host: string): boolean {
  return HOST.test(host);
}

/** True when `url` is an http(s) URL whose authority is a plain host[:port]. */
function authorityOk(url: string): boolean {
  const start = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : -1;
  if (start < 0) return false;
  const slash = url.indexOf("/", start);
  return HOST.test(slash < 0 ? url.slice(start) : url.slice(start, slash));
}

/**
 * True for a request whose URL the runtime could only build by trusting odd
 * input: a `Host` header that is not host[:port] (Deno and Bun build the
 * URL from it, so `Host: h/api/v1/users/me#` would make the app route on
 * another path than the request line's, defeating a proxy's rules on
 * paths), or a request target that is not a path (Bun takes `/aa:bbb/...`
 * for an absolute URL), or one holding an encoded NUL (`%00`: no id, email
 * or page has one, PostgreSQL refuses it in text, and C code that reads the
 * path after the app stops there). The gate answers these 400 before
 * anything else runs, as Node's parser does for most of them.
 */
export function isBadTarget(req: Request): boolean {
  const host = req.headers.get("host");
  return (host !== null && !HOST.test(host)) || !authorityOk(req.url) || req.url.includes("%00");
}

/** The 400's message for a request `isBadTarget` refuses: what is wrong, as far as a client can fix it. */
export function badTargetMessage(req: Request): string {
  return req.url.includes("%00")
    ? "Bad request: the request target contains a NUL character (%00)"
    : "Bad request: malformed Host header or request target";
}
