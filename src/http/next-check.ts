import { nextForLog, nextVerdict } from "../lib/next-url.ts";
import type { Audit } from "./audit.ts";
import type { Origins } from "./origin.ts";
import type { NextCheck } from "./page-routes.ts";

export type NextCheckOptions = {
  origins: Origins;
  /** COOKIE_DOMAIN, or null. */
  cookieDomain: string | null;
  audit: Audit;
};

/**
 * The sign-in page's `?next=` check for one configuration: the service's
 * own host is the host of the request's public origin (PUBLIC_URL, or what
 * the trusted proxy says the browser asked for). A refusal is one `info`
 * line (`event=next_refused`) with the reason and the start of the URL,
 * never its query: a probe for an open redirect shows in the log.
 */
export function createNextCheck({ origins, cookieDomain, audit }: NextCheckOptions): NextCheck {
  return (c, raw) => {
    const ownHost = new URL(origins.publicOrigin(c.req.raw)).hostname;
    const verdict = nextVerdict(raw, { ownHost, cookieDomain });
    if ("url" in verdict) return verdict.url;
    audit(c, "next_refused", { reason: verdict.refused, url: nextForLog(raw) });
    return null;
  };
}
