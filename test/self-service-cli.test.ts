import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cliCommand, RUNTIME, runToEnd } from "./helpers/server.ts";
import { cleanUp, client, folder, NEW_PASSWORD, PASSWORD, serve } from "./helpers/self-service-server.ts";

after(cleanUp);

/**
 * SIGNUP's modes on the real server of this runtime, and the CLI's user
 * verify and user reset-link, run as a user runs them, beside it.
 */

describe(`self-service on a real ${RUNTIME} server: SIGNUP, and the CLI`, () => {
  it("SIGNUP=closed refuses sign-ups, authenticated needs a login, open needs none", async () => {
    // Without an auth type anyone may call every route: closed still refuses.
    const closed = await serve({ STORAGE: "memory", SIGNUP: "closed", AUTH_TYPE: "" });
    const r = await client(closed).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD });
    assert.deepEqual([r.status, await r.json()], [403, { error: "Sign-up is closed" }]);
    const open = await serve({ STORAGE: "memory", SIGNUP: "open" });
    assert.equal((await client(open).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD })).status, 201);
    const authenticated = await serve({ STORAGE: "memory" });
    assert.equal((await client(authenticated).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD })).status, 401);
  });

  it("user verify lets an unverified account log in; user reset-link prints a link that works once, without email", async () => {
    const dir = folder();
    const env = { STORAGE: "file", DATA_DIR: dir };
    const cli = (args: string[], extra: Record<string, string> = {}, input?: string) => {
      const [bin, argv] = cliCommand(args);
      return runToEnd(bin, argv, { ...env, ...extra }, 60_000, input, dir);
    };
    const verification = { SIGNUP: "open", EMAIL_VERIFICATION: "required", SMTP_URL: "log:" };
    let server = await serve({ ...env, ...verification });
    assert.equal((await client(server).call("/api/v1/users", "POST", { email: "eve@example.com", password: PASSWORD })).status, 201);
    assert.equal((await client(server).login("eve@example.com", PASSWORD)).status, 403);
    await server.stop();
    // The list speaks the API's user JSON: with verification on, the flag too.
    const listed = async () => {
      const list = await cli(["user", "list", "--json"], { EMAIL_VERIFICATION: "optional" });
      assert.equal(list.code, 0, list.stderr);
      return JSON.parse(list.stdout.trim().split("\n")[0]).email_verified;
    };
    assert.equal(await listed(), false);
    const verified = await cli(["user", "verify", "eve@example.com"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /verified the email of user \S+ <eve@example.com>/);
    assert.equal(await listed(), true);

    const noUrl = await cli(["user", "reset-link", "eve@example.com"]);
    assert.equal(noUrl.code, 1);
    // The line itself (bun run adds one of its own after it).
    assert.ok(
      noUrl.stderr.split("\n").includes(
        "error: user reset-link needs PUBLIC_URL (the origin of the link), e.g. PUBLIC_URL=https://auth.example.com",
      ),
      noUrl.stderr,
    );
    const link = await cli(["user", "reset-link", "eve@example.com"], { PUBLIC_URL: "https://auth.example.com" });
    assert.equal(link.code, 0, link.stderr);
    const token = /^https:\/\/auth\.example\.com\/#reset=(\S+)$/.exec(link.stdout.trim())?.[1];
    assert.ok(token, link.stdout);

    // Without SMTP_URL: a link handed over by the operator still works.
    server = await serve({ ...env, EMAIL_VERIFICATION: "optional" });
    const c = client(server);
    const me = await c.login("eve@example.com", PASSWORD);
    assert.equal((await me.json()).email_verified, true);
    const confirm = () => c.call("/api/v1/auth_session/password_reset/confirm", "POST", { token, new_password: NEW_PASSWORD });
    assert.equal((await confirm()).status, 200);
    assert.equal((await confirm()).status, 400);
    assert.equal((await c.login("eve@example.com", NEW_PASSWORD)).status, 200);
    const forgot = await c.call("/api/v1/auth_session/password_reset", "POST", { email: "eve@example.com" });
    assert.deepEqual([forgot.status, await forgot.json()], [503, { error: "email is not configured" }]);
  });
});
