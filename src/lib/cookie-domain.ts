import { parse } from "tldts";

/**
 * COOKIE_DOMAIN as a cookie's `Domain` attribute: `.example.com` and
 * `example.com` both mean "this domain and every host under it" (RFC 6265
 * ignores the leading dot). A public suffix (`com`, `co.uk`, `github.io`)
 * is refused: browsers drop such cookies, and if one did not, every site
 * under the suffix would receive the session. The list of suffixes is the
 * Public Suffix List, private domains included, as browsers use it.
 *
 * @example cookieDomainError("example.com") // null
 *          cookieDomainError("co.uk")       // "a public suffix ..."
 */
export function cookieDomainError(value: string): string | null {
  const d = value.startsWith(".") ? value.slice(1) : value;
  if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(d)) {
    return "a domain name like example.com or .example.com";
  }
  const info = parse(d, { allowPrivateDomains: true });
  if (info.isIp) return "a domain name, not an IP address (a host-only cookie needs no COOKIE_DOMAIN)";
  if (info.domain === null) return `a registrable domain: ${d} is a public suffix, shared by unrelated sites`;
  return null;
}

/** The `Domain` attribute's value for a valid COOKIE_DOMAIN: lower case, no leading dot. */
export const cookieDomainOf = (value: string): string => (value.startsWith(".") ? value.slice(1) : value).toLowerCase();

/** True when `host` (no port) is the cookie domain or a host under it: the browser keeps the cookie only then. */
export function hostInCookieDomain(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  return h === domain || h.endsWith(`.${domain}`);
}
