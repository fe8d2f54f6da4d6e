import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { testApp } from "./helpers/app.ts";
import { mailSetup } from "./helpers/mail.ts";

/**
 * `GET /page/config`: what the sign-in page learns of the server before it
 * offers "Create an account" and "Forgot your password?" (the page itself
 * is driven in Chromium by test/browser-accounts.test.ts).
 */

const PUBLIC_URL = "https://auth.example.com";

describe("GET /page/config", () => {
  it("says whether sign-up is open, whether email is configured, and how addresses are verified", async () => {
    const { outbox } = await mailSetup();
    const cases: [Record<string, string>, boolean, Record<string, unknown>][] = [
      [{}, false, { signup: "authenticated", email: false, email_verification: "off" }],
      [{ SIGNUP: "open" }, false, { signup: "open", email: false, email_verification: "off" }],
      [{ SIGNUP: "closed", PUBLIC_URL }, true, { signup: "closed", email: true, email_verification: "off" }],
      [
        { SIGNUP: "open", SMTP_URL: "smtp://127.0.0.1:25", PUBLIC_URL, EMAIL_VERIFICATION: "required" },
        true,
        { signup: "open", email: true, email_verification: "required" },
      ],
    ];
    for (const [env, mail, expected] of cases) {
      const t = testApp({ env: { AUTH_TYPE: "session_db_auth", ...env }, outbox: mail ? outbox : undefined });
      const r = await t.request("/page/config");
      assert.equal(r.status, 200, JSON.stringify(env));
      assert.deepEqual(await r.json(), expected, JSON.stringify(env));
    }
  });

  it("is public under every auth type, outside the API: no CORS, not in the OpenAPI document", async () => {
    for (const type of ["", "auth", "basic_auth", "session_auth", "session_exp_auth", "session_db_auth"]) {
      const r = await testApp({ env: { AUTH_TYPE: type } }).request("/page/config", { headers: { Origin: "https://elsewhere.example" } });
      assert.equal(r.status, 200, type);
      assert.equal(r.headers.get("access-control-allow-origin"), null, type);
      assert.equal(r.headers.get("cache-control"), "no-store", type);
    }
    const doc = await (await testApp().request("/api/v1/openapi.json")).json() as { paths: Record<string, unknown> };
    assert.equal(doc.paths["/page/config"], undefined);
  });
});
