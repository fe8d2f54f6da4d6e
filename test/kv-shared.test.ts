import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME, runToEnd, type Server, startServer, tsCommand } from "./helpers/server.ts";
import { BOB, writeOriginalDataFolder } from "./helpers/seed-folder.ts";

// This test starts a server on each of the three runtimes itself, so it
// runs once, in the Node pass of the suite.
const skip = RUNTIME !== "node" ? "spawns all three runtimes; runs in the Node pass" : false;

describe("sessions shared live by Deno, Node and Bun servers on one KV file", { skip }, () => {
  const servers: Server[] = [];
  let dir = "";
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a login, a logout, a new user and a deletion on one are seen at once by the others", async () => {
    dir = writeOriginalDataFolder();
    const env = { STORAGE: "kv", AUTH_TYPE: "session_db_auth", DATA_DIR: dir, KV_PATH: join(dir, "shared.kv") };
    // One at a time: the first imports the original's data files into the empty store.
    const [deno, node, bun] = [
      await startServer(env, tsCommand("src/entry/deno.ts", "deno")),
      await startServer(env, tsCommand("src/entry/node.ts", "node")),
      await startServer(env, tsCommand("src/entry/bun.ts", "bun")),
    ];
    servers.push(deno, node, bun);
    assert.match(deno.output(), /imported the data files/);
    assert.doesNotMatch(node.output() + bun.output(), /imported the data files/);
    const at = (s: Server, path: string, init: RequestInit = {}) => fetch(s.url + "/api/v1" + path, init);
    const me = async (s: Server, cookie: string) => (await at(s, "/users/me", { headers: { Cookie: cookie } })).status;

    const login = await at(deno, "/auth_session/login", {
      method: "POST",
      body: new URLSearchParams({ email: BOB.email, password: BOB.password }),
    });
    assert.equal(login.status, 200);
    const bobCookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    for (const s of servers) assert.equal(await me(s, bobCookie), 200, s.output());

    const created = await at(node, "/users", {
      method: "POST",
      headers: { Cookie: bobCookie, "content-type": "application/json" },
      body: JSON.stringify({ email: "carol@hbtn.io", password: "c4r0l-s3cret" }),
    });
    assert.equal(created.status, 201);
    const carol = (await created.json()) as { id: string };
    for (const s of servers) {
      const list = (await (await at(s, "/users", { headers: { Cookie: bobCookie } })).json()) as { id: string }[];
      assert.equal(list.at(-1)?.id, carol.id);
      assert.equal(list.length, 5);
    }

    const carolLogin = await at(bun, "/auth_session/login", {
      method: "POST",
      body: new URLSearchParams({ email: "carol@hbtn.io", password: "c4r0l-s3cret" }),
    });
    assert.equal(carolLogin.status, 200);
    const carolCookie = (carolLogin.headers.get("set-cookie") ?? "").split(";")[0];
    for (const s of servers) assert.equal(await me(s, carolCookie), 200);

    assert.equal((await at(node, "/auth_session/logout", { method: "DELETE", headers: { Cookie: bobCookie } })).status, 200);
    for (const s of servers) assert.equal(await me(s, bobCookie), 403);

    // Bob logs in again (on Bun) to delete Carol through Deno.
    const again = await at(bun, "/auth_session/login", {
      method: "POST",
      body: new URLSearchParams({ email: BOB.email, password: BOB.password }),
    });
    const bob2 = (again.headers.get("set-cookie") ?? "").split(";")[0];
    assert.equal((await at(deno, `/users/${carol.id}`, { method: "DELETE", headers: { Cookie: bob2 } })).status, 200);
    for (const s of servers) {
      assert.equal(await me(s, carolCookie), 403);
      assert.equal((await at(s, `/users/${carol.id}`, { headers: { Cookie: bob2 } })).status, 404);
    }
  });

  it("failed logins spread over the three servers count together, and an unlock from the CLI is seen by all", async () => {
    assert.equal(servers.length, 3, "the servers of the test before");
    const at = (s: Server, password: string) =>
      fetch(s.url + "/api/v1/auth_session/login", { method: "POST", body: new URLSearchParams({ email: BOB.email, password }) });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await at(servers[i % 3], `guess-${i}-x`)).status);
    assert.deepEqual(statuses, Array(20).fill(401));
    for (const s of servers) assert.equal((await at(s, BOB.password)).status, 429, "the 21st attempt waits, on every server");
    const env = { STORAGE: "kv", DATA_DIR: dir, KV_PATH: join(dir, "shared.kv") };
    const [bin, args] = tsCommand("src/entry/cli.ts", "node");
    const done = await runToEnd(bin, [...args, "user", "unlock", BOB.email], env);
    assert.equal(done.code, 0, done.stderr);
    for (const s of servers) assert.equal((await at(s, BOB.password)).status, 200, "unlocked everywhere at once");
  });
});
