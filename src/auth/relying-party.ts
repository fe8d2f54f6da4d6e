/**
 * Who the passkeys belong to: the WebAuthn relying party id (a host name
 * the browser binds each credential to) and the origin a browser must have
 * been on when it used one.
 *
 * In this order: `PUBLIC_URL` (one origin, whatever a request says); else
 * the request's own public origin (src/http/origin.ts, which believes a
 * trusted proxy's forwarded host). `RP_ID` overrides the id alone, so that
 * `auth.example.com` may register passkeys for `example.com` and its other
 * hosts (the configuration refuses an `RP_ID` that is not `PUBLIC_URL`'s
 * host or a domain above it).
 */

/** The relying party of one request. */
export type RelyingParty = { id: string; origin: string };

export type RelyingPartyOptions = {
  /** PUBLIC_URL's origin, or null. */
  publicUrl: string | null;
  /** RP_ID, or null. */
  rpId: string | null;
  /** The request's public origin (see createOrigins). */
  publicOrigin: (req: Request) => string;
};

/**
 * The relying party of a request.
 *
 * @example const rp = relyingPartyOf({ publicUrl: null, rpId: null, publicOrigin: () => "http://localhost:5000" });
 *          rp(new Request("http://localhost:5000/")); // { id: "localhost", origin: "http://localhost:5000" }
 */
export function relyingPartyOf(o: RelyingPartyOptions): (req: Request) => RelyingParty {
  return (req) => {
    const origin = o.publicUrl ?? o.publicOrigin(req);
    return { id: o.rpId ?? new URL(origin).hostname, origin };
  };
}
