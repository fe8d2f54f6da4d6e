import { nextForLog, nextVerdict } from "../lib/next-url.ts";
import type { Audit } from "./audit.ts";
import { readCookie } from "./cookies.ts";
import type { Origins } from "./origin.ts";
import type { NextCheck } from "./page-routes.ts";

export type NextCheckOptions = {
  origins: Origins;
  /** COOKIE_DOMAIN, or null. */
  cookieDomain: string | null;
  audit: Audit;
  /** Whether the request's cookie is sent over HTTPS only (the marker cookie gets `Secure` too). */
  isHttps: (req: Request) => boolean;
};

/**
 * A marker that the sign-in page sent a signed-in browser on to its `next`
 * moments ago. An app whose host does not get the session cookie
 * (COOKIE_DOMAIN unset or not covering it, or a host-only cookie from
 * before it was set) sends the browser straight back, and the page would
 * send it on again, for ever. Seen again within its life, the page stays
 * and says why. It holds nothing but "1", for the page's own route only.
 */
const FORWARDED_COOKIE = "next_forwarded";
const FORWARDED_SECONDS = 10;

/**
 * The sign-in page's `?next=` check for one configuration: the service's
 * own host is the host of the request's public origin (PUBLIC_URL, or what
 * the trusted proxy says the browser asked for). A refusal is one `info`
 * line (`event=next_refused`) with the reason and the start of the URL,
 * never its query: a probe for an open redirect shows in the log. A bounce
 * (above) is one line too (`event=next_bounced`): the operator's hint that
 * COOKIE_DOMAIN does not reach an app.
 */
export function createNextCheck({ origins, cookieDomain, audit, isHttps }: NextCheckOptions): NextCheck {
  return (c, raw, signedIn) => {
    const ownHost = new URL(origins.publicOrigin(c.req.raw)).hostname;
    const verdict = nextVerdict(raw, { ownHost, cookieDomain });
    if (!("url" in verdict)) {
      audit(c, "next_refused", { reason: verdict.refused, url: nextForLog(raw) });
      return { url: null };
    }
    // Signed out, the page goes on only after a login: nothing can loop yet.
    if (!signedIn) return { url: verdict.url };
    const host = new URL(verdict.url).host;
    if (readCookie(c.req.header("cookie") ?? null, FORWARDED_COOKIE) !== null) {
      audit(c, "next_bounced", { reason: `${host} sent a signed-in browser back: its host gets no session cookie`, url: nextForLog(raw) });
      return { url: null, bounced: host };
    }
    const secure = isHttps(c.req.raw) ? "; Secure" : "";
    const cookie = `${FORWARDED_COOKIE}=1; Path=/page/session; Max-Age=${FORWARDED_SECONDS}; HttpOnly; SameSite=Lax${secure}`;
    return { url: verdict.url, headers: { "Set-Cookie": cookie } };
  };
}
