import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { testApp } from "./helpers/app.ts";

/**
 * Malformed requests of every kind: each must get a JSON 4xx, never a 500,
 * and must not change the stored data.
 */
const paths = [
  "/api/v1/users",
  "/api/v1/users/x",
  "/api/v1/auth_session/login",
  "/api/v1/auth_session/logout",
  "/api/v1/users/%ZZ",
  "/api/v1/%E0%A4%A",
  "/api/v1/users/..%2F..%2Fetc",
];
const methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
const headerSets: Record<string, string>[] = [
  {},
  { Authorization: "Basic" },
  { Authorization: "Basic =====" },
  { Authorization: "Basic " + btoa("\u00ff\u00fe:x") },
  { Authorization: "Basic " + "A".repeat(10000) },
  { Authorization: "Bearer " },
  { Authorization: "basic Og==" },
  { Cookie: "_my_session_id" },
  { Cookie: "_my_session_id=;;;=;" },
  { Cookie: '_my_session_id="' },
  { Cookie: "_my_session_id=" + "a".repeat(5000) },
  { Cookie: "_my_session_id=%E0%A4%A" },
  { "Content-Type": "application/json; charset=utf-16" },
  { "Content-Type": "multipart/form-data" },
  { "Content-Type": "multipart/form-data; boundary=" },
  { "Content-Type": "application/x-www-form-urlencoded" },
  { "Content-Length": "abc" },
  { Origin: "null", "Sec-Fetch-Site": "cross-site" },
];
const bodies: (string | Uint8Array | undefined)[] = [
  undefined,
  "",
  "{",
  "null",
  '{"email": {"$ne": null}, "password": ["x"]}',
  "email=%E0%A4%A&password=%ZZ",
  "email=a&email=b&password=",
  '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.c\r\n--x--',
  new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x7b]),
  '{"email":"a@b.c","password":"' + "p".repeat(2000) + '"}',
];

for (const authType of ["", "basic_auth", "session_db_auth"]) {
  describe(`hostile input, AUTH_TYPE=${authType || "unset"}`, () => {
    it("never answers 5xx or non-JSON, and changes nothing", async () => {
      const t = testApp({ env: { AUTH_TYPE: authType } });
      const existing = await t.seed("bob@hbtn.io", "Passw0rd-123");
      const before = JSON.stringify(await t.driver.listUsers());
      let n = 0;
      for (const path of paths) {
        for (const method of methods) {
          for (const headers of headerSets) {
            for (const body of method === "GET" ? [undefined] : bodies) {
              const h = { ...headers };
              if (h["Content-Length"]) delete h["Content-Length"];
              const r = await t.request(path, { method, headers: h, body: body as BodyInit | undefined });
              n++;
              const text = await r.text();
              assert.ok(r.status < 500, `${method} ${path} ${JSON.stringify(headers)} ${String(body).slice(0, 40)} -> ${r.status} ${text}`);
              if (text) assert.doesNotThrow(() => JSON.parse(text), `${method} ${path}: not JSON: ${text.slice(0, 80)}`);
            }
          }
        }
      }
      assert.ok(n > 1000);
      // Only the no-auth POSTs of a valid body could create a user; none of these bodies is valid for a new email.
      const after = JSON.parse(JSON.stringify(await t.driver.listUsers())) as { id: string }[];
      if (authType) assert.equal(JSON.stringify(await t.driver.listUsers()), before);
      assert.ok(after.some((u) => u.id === existing.id));
    });
  });
}
