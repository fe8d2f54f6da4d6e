import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testApp, testHasher } from "./helpers/app.ts";
import { RUNTIME, type Server, startServer, tsCommand } from "./helpers/server.ts";
import { BOB, writeOriginalDataFolder } from "./helpers/seed-folder.ts";
import { createKvDriver } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import type { PasswordHasher } from "../src/domain/passwords.ts";

/**
 * The login throttle's counters on Deno KV under a burst for one account:
 * every attempt gets its answer (401, 429, or 200 for the owner's known
 * device), never a 503 from counters conflicting with each other, and no
 * more password checks reach the hasher than the hourly limit allows.
 */

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;
const ATTACKS = 300;
const OWNER_TRIES = 10;
/** The throttle's account-wide limit: failed password checks per hour. */
const PER_HOUR = 100;

/** testHasher, counting the password checks that reach it. */
function countingHasher(): PasswordHasher & { checks: () => number } {
  let checks = 0;
  return {
    hash: (p) => testHasher.hash(p),
    verify: (p, stored) => (checks++, testHasher.verify(p, stored)),
    burn: (p) => (checks++, testHasher.burn(p)),
    checks: () => checks,
  };
}

const deviceCookie = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith("_my_session_id_device="))!.split(";")[0];
const tally = (statuses: (number | string)[]) =>
  statuses.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

describe(`login throttle on Deno KV, ${ATTACKS} logins for one account at once (${RUNTIME})`, () => {
  let dir = "";
  after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it("in one process: no 503, at most the hourly limit of checks, and the owner's known device logs in", async () => {
    dir = await mkdtemp(join(tmpdir(), "kv-throttle-"));
    const kv = await openKvStore(join(dir, "auth.kv"), { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined });
    const driver = createKvDriver(kv, { now: Date.now });
    const hasher = countingHasher();
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" }, driver, hasher });
    try {
      await t.seed("bob@hbtn.io", "correct-Horse-9");
      const login = (password: string, client: string, cookie?: string) =>
        t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password }, {
          "X-Forwarded-For": client,
          ...(cookie ? { Cookie: cookie } : {}),
        });
      const first = await login("correct-Horse-9", "198.51.100.1");
      assert.equal(first.status, 200);
      const device = deviceCookie(first);
      const before = hasher.checks();

      // Each guess from its own address, so that only the account's counter is shared by them all.
      const guesses = Array.from({ length: ATTACKS }, (_, i) => login(`guess-${i}`, `10.${i >> 8}.${i & 255}.9`));
      // Meanwhile the owner's browser logs in, one login after another, as a browser does.
      const ownerStatuses: number[] = [];
      for (let i = 0; i < OWNER_TRIES; i++) ownerStatuses.push((await login("correct-Horse-9", `198.51.100.${10 + i}`, device)).status);
      const attackStatuses = (await Promise.all(guesses)).map((r) => r.status);

      const counts = tally(attackStatuses);
      assert.equal(counts[503] ?? 0, 0, JSON.stringify(counts));
      assert.deepEqual(Object.keys(counts).filter((s) => s !== "401" && s !== "429"), [], JSON.stringify(counts));
      assert.deepEqual(ownerStatuses, Array(OWNER_TRIES).fill(200));
      const checked = hasher.checks() - before - OWNER_TRIES;
      assert.equal(counts[401], checked, "every 401 is one password check");
      assert.ok(checked <= PER_HOUR && checked >= PER_HOUR - 10, `${checked} guesses reached the password check`);
    } finally {
      await driver.close();
    }
  });
});

// Starts a server on each of the three runtimes itself, so it runs once, in the Node pass.
const skip = RUNTIME !== "node" ? "spawns all three runtimes; runs in the Node pass" : false;

describe("login throttle on one KV file shared by Deno, Node and Bun servers", { skip }, () => {
  const servers: Server[] = [];
  let dir = "";
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${3 * ATTACKS} logins for one account spread over the three: no 503, at most the hourly limit of checks, the owner logs in`, {
    timeout: 300_000,
  }, async () => {
    dir = writeOriginalDataFolder();
    const env = {
      STORAGE: "kv",
      AUTH_TYPE: "session_db_auth",
      TRUST_PROXY: "true",
      DATA_DIR: dir,
      KV_PATH: join(dir, "shared.kv"),
      // A burst this large on a busy machine can keep a request head waiting
      // past the default 10 s; the test is about the counters, not slow clients.
      HEADERS_TIMEOUT: "300",
      REQUEST_TIMEOUT: "300",
    };
    // One at a time: the first imports the original's data files into the empty store.
    for (const runtime of ["deno", "node", "bun"] as const) {
      servers.push(await startServer(env, tsCommand(`src/entry/${runtime}.ts`, runtime)));
    }
    // A status, or the reason there was none (a refused or dropped connection is a failure too).
    const login = (s: Server, password: string, client: string, cookie?: string) =>
      fetch(s.url + "/api/v1/auth_session/login", {
        method: "POST",
        headers: { "X-Forwarded-For": client, ...(cookie ? { Cookie: cookie } : {}) },
        body: new URLSearchParams({ email: BOB.email, password }),
      }).then(async (r) => {
        await r.body?.cancel();
        return r;
      }, (e: Error) => ({ status: `${e.message}: ${(e.cause as Error | undefined)?.message}` }));
    const first = await login(servers[0], BOB.password, "198.51.100.1");
    assert.equal(first.status, 200);
    const device = deviceCookie(first as Response);

    // ATTACKS on each server: a burst as large on each process as in the test above.
    const guesses = Array.from({ length: 3 * ATTACKS }, (_, i) => login(servers[i % 3], `guess-${i}`, `10.${i >> 8}.${i & 255}.9`));
    const ownerStatuses: (number | string)[] = [];
    for (let i = 0; i < OWNER_TRIES; i++) {
      ownerStatuses.push((await login(servers[i % 3], BOB.password, `198.51.100.${10 + i}`, device)).status);
    }
    const attackStatuses = (await Promise.all(guesses)).map((r) => r.status);

    const counts = tally(attackStatuses);
    assert.equal(counts[503] ?? 0, 0, JSON.stringify(counts));
    assert.deepEqual(Object.keys(counts).filter((s) => s !== "401" && s !== "429"), [], JSON.stringify(counts));
    // Every 401 is a password checked and found wrong; the three servers share the account's hourly limit.
    assert.ok(counts[401] <= PER_HOUR && counts[401] >= PER_HOUR - 10, JSON.stringify(counts));
    assert.deepEqual(ownerStatuses, Array(OWNER_TRIES).fill(200));
    for (const s of servers) assert.doesNotMatch(s.output(), /conflicting with concurrent writes|database is locked/);
  });
});
