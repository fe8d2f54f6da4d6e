import { base64ToBytes } from "../lib/encoding.ts";

export type BasicCredentials = { email: string; password: string };

/**
 * Basic credentials that hold a NUL: no account's email or password has one,
 * and PostgreSQL refuses it in text. Answered 400, before any lookup.
 */
export class MalformedCredentialsError extends Error {
  constructor() {
    super("Bad request: the Basic credentials contain a NUL character");
    this.name = "MalformedCredentialsError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses an `Authorization: Basic ...` header value into credentials, or
 * null when it is not valid Basic credentials.
 *
 * - The scheme name is case-insensitive (RFC 7235); the original demanded
 *   exactly `Basic `.
 * - Like the original (Python's lenient `b64decode`), several spaces after
 *   the scheme and extra `=` padding still decode; any other non-base64
 *   character, or missing padding, does not.
 * - The bytes must be valid UTF-8 (invalid: null, so a 403, never a 500).
 * - Split at the first `:` so that passwords may contain `:`.
 *
 * @example parseBasicAuth("Basic Ym9iQGhidG4uaW86SDBsYmVydG9uU2Nob29sOTgh")
 *   // { email: "bob@hbtn.io", password: "H0lbertonSchool98!" }
 */
export function parseBasicAuth(header: string | null | undefined): BasicCredentials | null {
  if (!header) return null;
  const m = /^basic +(\S+)\s*$/i.exec(header);
  if (!m) return null;
  const encoded = m[1];
  const body = encoded.replace(/=+$/, "");
  if (body.length % 4 !== 0 && encoded.length - body.length < (4 - (body.length % 4)) % 4) return null;
  const bytes = base64ToBytes(body);
  if (!bytes) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  const i = text.indexOf(":");
  if (i < 0) return null;
  return { email: text.slice(0, i), password: text.slice(i + 1) };
}
