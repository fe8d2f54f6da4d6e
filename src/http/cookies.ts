/**
 * The value of the first cookie named `name` in a Cookie header, or null.
 * Values are taken as they are (our tokens are base64url, legacy ones UUIDs),
 * with surrounding double quotes removed; nothing is percent-decoded, so a
 * malformed escape cannot throw.
 */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return null;
}

export type CookieOptions = {
  secure: boolean;
  maxAgeSeconds?: number | null;
  /** COOKIE_DOMAIN: the cookie then reaches every host under it (forward auth of sibling apps); null: this host only. */
  domain?: string | null;
};

const domainPart = (domain: string | null | undefined) => (domain ? `; Domain=${domain}` : "");

/**
 * The session cookie: `HttpOnly` (no script can read it), `SameSite=Lax`
 * (not sent on cross-site subrequests and form posts), `Path=/`, and
 * `Secure` over HTTPS. With an absolute session lifetime it carries
 * `Max-Age`, so the browser drops it when the session ends; the server
 * enforces every limit anyway.
 */
export function sessionCookie(name: string, token: string, { secure, maxAgeSeconds, domain }: CookieOptions): string {
  return `${name}=${token}; Path=/${domainPart(domain)}${maxAgeSeconds ? `; Max-Age=${maxAgeSeconds}` : ""}; HttpOnly; SameSite=Lax${
    secure ? "; Secure" : ""
  }`;
}

/** Clears the session cookie in the browser (logout). */
export function clearedCookie(name: string, { secure, domain }: CookieOptions): string {
  return `${name}=; Path=/${domainPart(domain)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax${
    secure ? "; Secure" : ""
  }`;
}

/** The known-device cookie: sent to the API only (login and password change read it), never to scripts. */
export function deviceCookieHeader(name: string, value: string, maxAgeSeconds: number, { secure, domain }: CookieOptions): string {
  return `${name}=${value}; Path=/api/v1${domainPart(domain)}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
