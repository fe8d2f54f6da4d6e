import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createPasskeyChallenges } from "../src/auth/passkey-challenges.ts";
import { createMemoryCounters } from "../src/auth/throttle.ts";
import { fakeClock } from "./helpers/app.ts";
import { createDatabase, SERVER_URL, type TestDatabase } from "./helpers/postgres.ts";
import { BOB, writeOriginalDataFolder } from "./helpers/seed-folder.ts";
import { RUNTIME, type Server, startServer } from "./helpers/server.ts";
import { everyStorage } from "./helpers/storages.ts";
import { softwareAuthenticator } from "./helpers/webauthn.ts";

/**
 * Where WebAuthn challenges live: the storage's shared counters (Deno KV,
 * PostgreSQL) or, for a storage of one process (memory, file), that
 * process's memory, as the app chooses. Each challenge is taken once, even
 * by requests racing each other, and not after 5 minutes. Then two real
 * servers on one KV file and on one database: a challenge one of them
 * issued is good once at either.
 */

const storages = everyStorage("challenges");
const CHALLENGE = "c".repeat(43);

for (const storage of Object.keys(storages)) {
  describe(`passkey challenges on ${storage} storage`, () => {
    it("are taken once (of racing takes exactly one wins), for their purpose, within 5 minutes", async () => {
      const clock = fakeClock(Date.now());
      const driver = await storages[storage](clock.now);
      // The app's choice (create-app.ts): the storage's counters, else this process's memory.
      const challenges = createPasskeyChallenges({ store: driver.counters ?? createMemoryCounters(), now: clock.now });
      try {
        assert.equal(await challenges.issue("client", CHALLENGE, "register", "user-1"), 0);
        assert.equal(await challenges.take(CHALLENGE, "login"), null, "issued to register, not to log in");
        assert.equal(await challenges.take(CHALLENGE, "register"), null, "a wrong-purpose take used it up");

        const racing = "r".repeat(43);
        await challenges.issue("client", racing, "login", null);
        const takes = await Promise.all(Array.from({ length: 8 }, () => challenges.take(racing, "login")));
        assert.deepEqual(takes.filter((t) => t !== null), [{ user_id: null }]);

        const late = "l".repeat(43);
        await challenges.issue("client", late, "register", "user-1");
        clock.advance(5 * 60_000);
        assert.equal(await challenges.take(late, "register"), null);
        assert.equal(await challenges.take("not a challenge!", "login"), null);
        assert.equal(await challenges.take("u".repeat(43), "login"), null, "never issued");
      } finally {
        await driver.close();
      }
    });

    it("are issued at most 30 a minute to one client", async () => {
      const clock = fakeClock(Date.now());
      const driver = await storages[storage](clock.now);
      const challenges = createPasskeyChallenges({ store: driver.counters ?? createMemoryCounters(), now: clock.now });
      try {
        for (let i = 0; i < 30; i++) assert.equal(await challenges.issue("busy", `${i}`.padStart(43, "x"), "login", null), 0);
        const wait = await challenges.issue("busy", "y".repeat(43), "login", null);
        assert.ok(wait >= 1 && wait <= 60, String(wait));
        assert.equal(await challenges.take("y".repeat(43), "login"), null, "a refused challenge is not kept");
        assert.equal(await challenges.issue("other", "z".repeat(43), "login", null), 0, "another client is not affected");
        clock.advance(60_000);
        assert.equal(await challenges.issue("busy", "w".repeat(43), "login", null), 0);
      } finally {
        await driver.close();
      }
    });
  });
}

/** The shared storages two servers can open together, with what they need. */
const shared: Record<string, () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }>> = {
  kv: () => Promise.resolve({ env: { STORAGE: "kv", KV_PATH: "shared.kv" }, drop: () => Promise.resolve() }),
  ...(SERVER_URL
    ? {
      postgres: async () => {
        const db: TestDatabase = await createDatabase("passkeys");
        return { env: { STORAGE: "postgres", DATABASE_URL: db.url }, drop: db.drop };
      },
    }
    : {}),
};

for (const [storage, open] of Object.entries(shared)) {
  describe(`passkeys across two ${RUNTIME} servers on one ${storage} storage`, { timeout: 180_000 }, () => {
    const servers: Server[] = [];
    const cleanup: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const s of servers) await s.stop("SIGTERM").catch(() => {});
      for (const c of cleanup) await c();
    });

    it("a challenge one server issued is good once, at either server, and not again at the other", async () => {
      const dir = writeOriginalDataFolder();
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const store = await open();
      cleanup.push(store.drop);
      // Behind one load balancer both answer for one public origin, hence one relying party.
      const env: Record<string, string> = {
        ...store.env,
        AUTH_TYPE: "session_db_auth",
        DATA_DIR: dir,
        PUBLIC_URL: "http://localhost:5000",
      };
      if (env.KV_PATH) env.KV_PATH = join(dir, env.KV_PATH);
      // One after the other: the first imports the data folder (Bob).
      const a = await startServer(env, undefined, 60_000);
      servers.push(a);
      const b = await startServer(env, undefined, 60_000);
      servers.push(b);
      const post = (s: Server, path: string, body: unknown, cookie = "") =>
        fetch(s.url + path, {
          method: "POST",
          headers: { "Content-Type": "application/json", Cookie: cookie },
          body: JSON.stringify(body),
        });
      const login = await fetch(a.url + "/api/v1/auth_session/login", {
        method: "POST",
        body: new URLSearchParams({ email: BOB.email, password: BOB.password }),
      });
      assert.equal(login.status, 200);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];

      const key = await softwareAuthenticator();
      const creation = await (await post(a, "/api/v1/users/me/passkeys/options", {}, cookie)).json();
      assert.equal(creation.rp.id, "localhost");
      const added = await post(b, "/api/v1/users/me/passkeys", { response: await key.register(creation, "http://localhost:5000") }, cookie);
      assert.equal(added.status, 201, await added.clone().text());

      const request = await (await post(b, "/api/v1/auth_session/passkey/options", {})).json();
      const assertion = await key.assert(request, "http://localhost:5000");
      const first = await post(a, "/api/v1/auth_session/passkey", { response: assertion });
      assert.equal(first.status, 200, await first.clone().text());
      assert.equal(((await first.json()) as { email: string }).email, BOB.email);
      for (const s of [a, b]) assert.equal((await post(s, "/api/v1/auth_session/passkey", { response: assertion })).status, 400);

      // Sent to both at once: one of them logs in, the other finds the challenge gone.
      const again = await (await post(a, "/api/v1/auth_session/passkey/options", {})).json();
      const racing = await key.assert(again, "http://localhost:5000");
      const answers = await Promise.all([a, b].map((s) => post(s, "/api/v1/auth_session/passkey", { response: racing })));
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400]);
    });
  });
}
