import assert from "node:assert/strict";
import { totpCode } from "../../src/auth/totp.ts";

/** A SECRET_KEY long enough for the config's rule. */
export const SECRET_KEY = "test-secret-key-0123456789-abcdefghij";

/** The TOTP routes. */
export const TOTP = "/api/v1/users/me/totp";
export const FACTORS = "/api/v1/users/me/factors";
export const LOGIN = "/api/v1/auth_session/login";

/** A code of `secret` at `now` other than `right` (a wrong guess that cannot be right by chance). */
export function wrongCode(secret: string, now: number): string {
  const right = totpCode(secret, now);
  return right === "000000" ? "111111" : "000000";
}

/** How a test talks to a server: in-process (`app.request`) or over HTTP (`fetch`). */
export type Call = (path: string, init?: RequestInit) => Response | Promise<Response>;

const jsonInit = (method: string, body: unknown, cookie?: string): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
  body: JSON.stringify(body),
});

/** The `name=value` of the session cookie among a response's Set-Cookie headers. */
export function sessionCookieOf(r: Response, name = "_my_session_id"): string {
  const all = r.headers.getSetCookie?.() ?? [r.headers.get("set-cookie") ?? ""];
  const found = all.map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`));
  assert.ok(found, `a ${name} cookie in ${JSON.stringify(all)}`);
  return found;
}

/** Logs in with JSON (and a code when given). */
export const login = async (call: Call, email: string, password: string, code?: string): Promise<Response> =>
  await call(LOGIN, jsonInit("POST", code === undefined ? { email, password } : { email, password, code }));

/**
 * Sets up TOTP for the session `cookie`: enrol, then confirm with the code
 * the test computes from the answered secret at `now`. Returns the secret
 * and the recovery codes.
 */
export async function enrolTotp(call: Call, cookie: string, now: number): Promise<{ secret: string; recovery: string[] }> {
  const enrol = await call(TOTP, { method: "POST", headers: { cookie } });
  assert.equal(enrol.status, 200, await enrol.clone().text());
  const { secret, otpauth_url } = await enrol.json() as { secret: string; otpauth_url: string };
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.ok(otpauth_url.startsWith("otpauth://totp/") && otpauth_url.includes(`secret=${secret}`), otpauth_url);
  const confirm = await call(`${TOTP}/confirm`, jsonInit("POST", { code: totpCode(secret, now) }, cookie));
  assert.equal(confirm.status, 200, await confirm.clone().text());
  const { recovery_codes } = await confirm.json() as { recovery_codes: string[] };
  assert.equal(recovery_codes.length, 10);
  return { secret, recovery: recovery_codes };
}

/** DELETE /users/me/totp with the current password. */
export const disableTotp = (call: Call, cookie: string, password: string) =>
  call(TOTP, jsonInit("DELETE", { current_password: password }, cookie));

/** Asserts an answer's status and JSON error. */
export async function assertError(r: Response, status: number, error: string): Promise<void> {
  assert.deepEqual({ status: r.status, body: await r.json() }, { status, body: { error } });
}
