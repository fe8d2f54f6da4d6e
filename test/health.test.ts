import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server as NetServer, type Socket } from "node:net";
import { StorageUnavailableError } from "../src/domain/errors.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";
import type { StorageDriver } from "../src/storage/driver.ts";
import { testApp } from "./helpers/app.ts";
import { createDatabase, SERVER_URL, type TestDatabase } from "./helpers/postgres.ts";
import { RUNTIME, type Server, startServer } from "./helpers/server.ts";

const OK = { status: "OK", storage: "ok" };
const never = () => new Promise<never>(() => {});

/** A memory driver whose reads of one user do what `getUser` says, counting them. */
function driverWith(getUser: () => Promise<unknown>) {
  const base = createMemoryDriver();
  const calls = { n: 0 };
  const driver = {
    ...base,
    getUser: () => {
      calls.n++;
      return getUser();
    },
  } as StorageDriver;
  return { driver, calls };
}

describe("GET /api/v1/health, in-process", () => {
  for (const AUTH_TYPE of ["", "basic_auth", "session_auth", "session_exp_auth", "session_db_auth"]) {
    it(`answers 200 without credentials under AUTH_TYPE=${AUTH_TYPE || "unset"}, with or without the trailing slash`, async () => {
      const t = testApp({ env: AUTH_TYPE ? { AUTH_TYPE } : {} });
      for (const path of ["/api/v1/health", "/api/v1/health/"]) {
        const r = await t.request(path);
        assert.equal(r.status, 200, path);
        assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
        assert.deepEqual(await r.json(), OK);
      }
      // Only the storage's state: no count, no version, no host.
      assert.equal(JSON.stringify(await (await t.request("/api/v1/health")).json()), '{"status":"OK","storage":"ok"}');
    });
  }

  it("answers 503 timeout when the storage does not answer within 1 s, and /status still 200", async () => {
    const { driver } = driverWith(never);
    const t = testApp({ driver, env: { AUTH_TYPE: "session_db_auth" } });
    const r = await t.request("/api/v1/health");
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { status: "unavailable", storage: "timeout" });
    const status = await t.request("/api/v1/status");
    assert.equal(status.status, 200);
    assert.deepEqual(await status.json(), { status: "OK" });
  });

  it("answers 503 unavailable when the read fails, without the driver's message", async () => {
    const { driver } = driverWith(() => Promise.reject(new StorageUnavailableError("PostgreSQL db.internal:5432: ECONNREFUSED")));
    const r = await testApp({ driver }).request("/api/v1/health");
    assert.equal(r.status, 503);
    assert.equal(await r.text(), '{"status":"unavailable","storage":"unavailable"}');
  });

  it("checks that arrive while a read is pending share it: a hung storage gets one query, not one per poll", async () => {
    let release = () => {};
    const released = new Promise<void>((res) => (release = res));
    const { driver, calls } = driverWith(() => released);
    const t = testApp({ driver });
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.request("/api/v1/health")));
    assert.deepEqual(answers.map((r) => r.status), [503, 503, 503, 503, 503]);
    assert.equal(calls.n, 1);
    release();
    await new Promise((r) => setTimeout(r, 0));
    const back = await t.request("/api/v1/health");
    assert.equal(back.status, 200);
    assert.equal(calls.n, 2);
  });

  it("has only GET (and HEAD, OPTIONS)", async () => {
    const t = testApp();
    const r = await t.request("/api/v1/health", { method: "POST" });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD, OPTIONS");
  });
});

/**
 * A TCP proxy in front of PostgreSQL that a test can freeze (it keeps every
 * connection open and passes nothing: a hung database or a dropped network)
 * or cut (it closes every connection and every new one: a database gone).
 */
async function pgProxy(target: URL) {
  let mode: "pass" | "freeze" | "cut" = "pass";
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    if (mode === "cut") return void client.destroy();
    if (mode === "freeze") return void client.pause();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    upstream.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  const url = new URL(target.href);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    freeze() {
      mode = "freeze";
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    cut() {
      mode = "cut";
      for (const s of sockets) s.destroy();
    },
    restore() {
      mode = "pass";
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}

/** GET /health, bounded: a hang fails the test instead of stalling it (not a performance check). */
async function health(s: Server): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${s.url}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.json() };
}

describe(`GET /api/v1/health on PostgreSQL (${RUNTIME})`, { skip: SERVER_URL ? false : "DATABASE_URL is unset" }, () => {
  let db: TestDatabase;
  let proxy: Awaited<ReturnType<typeof pgProxy>>;
  let server: Server | null = null;
  before(async () => {
    db = await createDatabase("health");
    proxy = await pgProxy(new URL(db.url));
  });
  after(async () => {
    await server?.stop("SIGKILL");
    await proxy?.close();
    await db?.drop();
  });

  it(
    "answers 200 while PostgreSQL answers, 503 when it hangs or is gone, and 200 again once it is back",
    { timeout: 120_000 },
    async () => {
      server = await startServer({ STORAGE: "postgres", DATABASE_URL: proxy.url, AUTH_TYPE: "session_db_auth" });
      assert.deepEqual(await health(server), { status: 200, body: OK });

      proxy.freeze();
      assert.deepEqual(await health(server), { status: 503, body: { status: "unavailable", storage: "timeout" } });
      const status = await fetch(`${server.url}/api/v1/status`, { signal: AbortSignal.timeout(5000) });
      assert.equal(status.status, 200, "the liveness check never touches the storage");

      proxy.cut();
      // The frozen read may still be pending for the driver's own deadline: poll until the cut is seen.
      let seen = await health(server);
      for (let i = 0; i < 20 && seen.status === 503 && (seen.body as { storage: string }).storage === "timeout"; i++) {
        seen = await health(server);
      }
      assert.deepEqual(seen, { status: 503, body: { status: "unavailable", storage: "unavailable" } });

      proxy.restore();
      let back = await health(server);
      for (let i = 0; i < 40 && back.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 250));
        back = await health(server);
      }
      assert.deepEqual(back, { status: 200, body: OK });
      assert.equal(server.proc.exitCode, null, "still running");
    },
  );
});
