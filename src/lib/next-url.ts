import { hostInCookieDomain } from "./cookie-domain.ts";

/**
 * Where the sign-in page may send the browser after a login (`?next=`):
 * the rule that keeps the page from being an open redirect, which a
 * phishing mail would use to lend a hostile site this service's address.
 *
 * A `next` is followed only when it is an absolute `https` URL (`http` when
 * its host is a loopback name, for development), without user name or
 * password, whose host is the service's own host or lies under
 * COOKIE_DOMAIN (on a label boundary: `.example.com` covers
 * `app.example.com` and `example.com`, never `evilexample.com`). The port
 * does not matter: the cookie does not depend on it either.
 *
 * The URL is judged as the WHATWG parser reads it, the one browsers use,
 * and the page goes to the parser's own serialisation of it, so no
 * difference between two readings of one string (`https:\\evil.example`,
 * `https://a@b`) can send the browser elsewhere than what was judged.
 * Backslashes, spaces and control characters, which that parser forgives
 * or drops silently, are refused outright: no honest link holds them.
 */

/** Longer `next` values are refused: a link to an app fits, a payload meant to fill logs does not. */
export const NEXT_MAX_LENGTH = 2048;

export type NextRules = {
  /** The host name of the service's public origin (lower case, IPv6 in brackets), no port. */
  ownHost: string;
  /** COOKIE_DOMAIN (lower case, no leading dot), or null. */
  cookieDomain: string | null;
};

/** The URL to go to, or why not (a sentence for the server log). */
export type NextVerdict = { url: string } | { refused: string };

/** Host names that always mean this machine (RFC 6761 reserves `localhost` and every name under it). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "127.0.0.1" || host === "[::1]";
}

/**
 * Judges one `next` value.
 *
 * @example nextVerdict("https://app.example.com/x", { ownHost: "auth.example.com", cookieDomain: "example.com" })
 *          // { url: "https://app.example.com/x" }
 *          nextVerdict("https://evilexample.com/", { ownHost: "auth.example.com", cookieDomain: "example.com" })
 *          // { refused: "host evilexample.com is neither auth.example.com nor under example.com" }
 */
export function nextVerdict(raw: string, rules: NextRules): NextVerdict {
  if (raw.length > NEXT_MAX_LENGTH) return { refused: `longer than ${NEXT_MAX_LENGTH} characters` };
  // deno-lint-ignore no-control-regex -- finding control characters is the point.
  if (/[\s\\\x00-\x1f\x7f]/.test(raw)) return { refused: "holds a backslash, a space or a control character" };
  if (!URL.canParse(raw)) return { refused: "not an absolute URL" };
  const url = new URL(raw);
  const host = url.hostname;
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "https" && !(scheme === "http" && isLoopbackHost(host))) {
    return { refused: scheme === "http" ? `http to ${host}, which is not a loopback host (https only)` : `scheme ${scheme}: is not https` };
  }
  if (url.username !== "" || url.password !== "") return { refused: "carries a user name or password" };
  const own = host === rules.ownHost.toLowerCase();
  if (!own && (rules.cookieDomain === null || !hostInCookieDomain(host, rules.cookieDomain))) {
    const under = rules.cookieDomain === null ? "" : ` nor under ${rules.cookieDomain}`;
    return { refused: `host ${host} is ${under ? "neither" : "not"} ${rules.ownHost}${under}` };
  }
  return { url: url.href };
}

/**
 * A `next` value as the log may show it: scheme, host and path of what
 * parses (a query or fragment may hold a token), else the start of the
 * text, at most `max` characters either way. The logger escapes control
 * characters.
 */
export function nextForLog(raw: string, max = 100): string {
  let shown = raw;
  if (URL.canParse(raw)) {
    const u = new URL(raw);
    // A special scheme has a host; `javascript:` and `data:` have only a path.
    shown = u.host ? `${u.protocol}//${u.host}${u.pathname}` : `${u.protocol}${u.pathname}`;
  }
  return shown.length > max ? `${shown.slice(0, max)}… (${raw.length} characters)` : shown;
}
