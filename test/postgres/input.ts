import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { BOB, writeOriginalDataFolder } from "../helpers/seed-folder.ts";
import { type Server, startServer } from "../helpers/server.ts";

const basic = (email: string, password: string) =>
  "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${email}:${password}`)));
const error = async (r: Response) => ((await r.json()) as { error: string }).error;

/**
 * Hostile text against a real server on PostgreSQL, which refuses NUL (and
 * lone surrogates) in text: each is a 400 or a plain miss, never a 503 with
 * a stack trace in the log; and NFD/NFC twins of an email collide there too.
 */
export function postgresInputTests(): void {
  describe("postgres: hostile text in fields", () => {
    let db: TestDatabase | null = null;
    let server: Server | null = null;
    const dir = mkdtempSync(join(tmpdir(), "pg-input-"));
    after(async () => {
      await server?.stop("SIGKILL").catch(() => {});
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("a NUL in the login email, the path or the Basic email is a 400, never a 503; NFD and NFC twins collide", async () => {
      db = await createDatabase("input");
      // The original's data are taken in at the first start: Bob may add users under basic_auth.
      const data = writeOriginalDataFolder(dir);
      server = await startServer({ STORAGE: "postgres", DATABASE_URL: db.url, AUTH_TYPE: "basic_auth", DATA_DIR: data }, undefined, 60_000);
      const at = (path: string, init: RequestInit = {}) => fetch(`${server!.url}/api/v1${path}`, init);
      const post = (path: string, body: unknown) =>
        at(path, {
          method: "POST",
          headers: { "content-type": "application/json", Authorization: basic(BOB.email, BOB.password) },
          body: JSON.stringify(body),
        });

      const created = await post("/users", { email: "jose\u0301@hbtn.io", password: "correct-Horse-9" });
      assert.equal(created.status, 201, await created.clone().text());
      assert.equal(((await created.json()) as { email: string }).email, "jos\u00e9@hbtn.io");
      const twin = await post("/users", { email: "JOS\u00c9@hbtn.io", password: "correct-Horse-9" });
      assert.equal(twin.status, 400);
      assert.equal(await error(twin), "Can't create User: email already exists");
      const me = await at("/users/me", { headers: { Authorization: basic("jose\u0301@hbtn.io", "correct-Horse-9") } });
      assert.equal(me.status, 200, "the NFD spelling finds the account");

      const nul: [string, Response][] = [
        ["login JSON", await post("/auth_session/login", { email: "jose\u0000@hbtn.io", password: "correct-Horse-9" })],
        [
          "login form",
          await at("/auth_session/login", { method: "POST", body: new URLSearchParams({ email: "a\u0000@x.io", password: "pw" }) }),
        ],
        ["sign-up", await post("/users", { email: "b\u0000@hbtn.io", password: "correct-Horse-9" })],
        ["path", await at("/users/%00", { headers: { Authorization: basic("jos\u00e9@hbtn.io", "correct-Horse-9") } })],
        ["Basic", await at("/users/me", { headers: { Authorization: basic("jose\u0000@hbtn.io", "correct-Horse-9") } })],
      ];
      for (const [what, r] of nul) {
        assert.equal(r.status, 400, what);
        assert.match(await error(r), /NUL/, what);
      }
      // Not text PostgreSQL can hold, and no account's email: a plain miss.
      const surrogate = await at("/auth_session/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"email": "\\ud800@hbtn.io", "password": "correct-Horse-9"}',
      });
      assert.equal(surrogate.status, 401);
      assert.equal((await at("/users/me", { headers: { Authorization: basic("jos\u00e9@hbtn.io", "correct-Horse-9") } })).status, 200);
      assert.doesNotMatch(server.output(), /\b503\b|Error:|\n\s+at /, server.output());
    });
  });
}
