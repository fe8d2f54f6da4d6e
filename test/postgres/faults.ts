import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { openPostgres } from "../../src/storage/postgres/connect.ts";
import { type Cluster, clusterUnavailable, createCluster } from "../helpers/pg-cluster.ts";
import { onServer } from "../helpers/postgres.ts";
import { BOB, writeOriginalDataFolder } from "../helpers/seed-folder.ts";
import { RUNTIME, runToEnd, type Server, startServer, tsCommand } from "../helpers/server.ts";

/** One request of the load, as the client saw it. */
type Answer = { path: string; start: number; end: number; status: number; body: string; email?: string };

const UNAVAILABLE = JSON.stringify({ error: "Storage unavailable, try again later" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps `workers` clients busy until stopped: a third sign up new users
 * (a write, acknowledged by a 201), the others read their own session
 * (GET /users/me: one query). Every answer is recorded.
 */
function load(server: Server, cookie: string, workers: number) {
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const one = async (write: boolean) => {
    const email = `load-${++n}-${crypto.randomUUID().slice(0, 8)}@fault.test`;
    const init: RequestInit = write
      ? {
        method: "POST",
        headers: { Cookie: cookie, "content-type": "application/json" },
        body: JSON.stringify({ email, password: "load-password" }),
      }
      : { headers: { Cookie: cookie } };
    const path = write ? "/users" : "/users/me";
    const start = Date.now();
    try {
      const r = await fetch(`${server.url}/api/v1${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
      answers.push({ path, start, end: Date.now(), status: r.status, body: await r.text(), email: write ? email : undefined });
    } catch (e) {
      answers.push({ path, start, end: Date.now(), status: 0, body: String(e) });
    }
  };
  const loops = Array.from({ length: workers }, async (_, i) => {
    while (running) await one(i % 3 === 0);
  });
  return {
    answers,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Answers that started after `from` and ended before `to`. */
const between = (answers: Answer[], from: number, to: number) => answers.filter((a) => a.start >= from && a.end <= to);

/** Polls GET /users/me until it answers 200; the time it took, in ms. */
async function recovery(server: Server, cookie: string, limitMs = 15_000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    const r = await fetch(`${server.url}/api/v1/users/me`, { headers: { Cookie: cookie } }).catch(() => null);
    if (r?.status === 200) return Date.now() - t0;
    await r?.body?.cancel();
    await sleep(100);
  }
  throw new Error(`the service did not serve again within ${limitMs} ms:\n${server.output().slice(-3000)}`);
}

/** PostgreSQL failing under a running service: a crash, a frozen server, and a wrong password at startup. */
export function postgresFaultTests(): void {
  const unavailable = clusterUnavailable();
  describe("postgres: faults, on a throwaway PostgreSQL", { skip: unavailable ?? false }, () => {
    let cluster: Cluster;
    let server: Server | null = null;
    let seed = "";
    before(async () => {
      cluster = await createCluster(["host all pw_user 127.0.0.1/32 scram-sha-256"]);
      await onServer(cluster.url("postgres"), async (sql) => {
        await sql`create role pw_user login password 'right-password'`;
        await sql`create database app`;
      });
    });
    after(async () => {
      await server?.stop("SIGKILL");
      cluster?.destroy();
      if (seed) rmSync(seed, { recursive: true, force: true });
    });

    it("a wrong password stops the server at startup with one line, without the password", async () => {
      const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
      const url = `postgres://pw_user:wrong-s3cret@127.0.0.1:${cluster.port}/app`;
      const r = await runToEnd(bin, args, { STORAGE: "postgres", DATABASE_URL: url, API_HOST: "127.0.0.1", API_PORT: "0" });
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.stderr.trim().split("\n"), [
        `error: Cannot open PostgreSQL database 127.0.0.1:${cluster.port}/app: 28P01: password authentication failed for user "pw_user"`,
      ]);
      const right = await openPostgres(`postgres://pw_user:right-password@127.0.0.1:${cluster.port}/postgres`, { poolSize: 1 }).catch((e) =>
        e
      );
      assert.match(String(right.message ?? ""), /permission denied|must be owner|schema public/, "authenticated, then refused the tables");
    });

    it("answers 503 within 2 s while PostgreSQL is down or frozen, serves again once it is back, and loses nothing acknowledged", async () => {
      seed = writeOriginalDataFolder();
      server = await startServer({ STORAGE: "postgres", DATABASE_URL: cluster.url("app"), AUTH_TYPE: "session_db_auth", DATA_DIR: seed });
      const login = await fetch(`${server.url}/api/v1/auth_session/login`, {
        method: "POST",
        body: new URLSearchParams({ email: BOB.email, password: BOB.password }),
      });
      assert.equal(login.status, 200);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
      const pid = server.proc.pid;
      const traffic = load(server, cookie, 6);

      // Load first reaches a steady state, with at least one sign-up acknowledged.
      await sleep(1000);
      const warm = Date.now();
      while (!traffic.answers.some((a) => a.status === 201) && Date.now() - warm < 20_000) await sleep(100);
      cluster.stop();
      const down = Date.now();
      await sleep(1500);
      const restarting = Date.now();
      cluster.start();
      const backAfter = await recovery(server, cookie);
      await sleep(700);

      cluster.freeze();
      const frozen = Date.now();
      await sleep(3200);
      const thawing = Date.now();
      cluster.thaw();
      const thawedAfter = await recovery(server, cookie);
      await sleep(700);
      await traffic.stop();

      const { answers } = traffic;
      const statuses = new Set(answers.map((a) => a.status));
      assert.deepEqual(
        [...statuses].filter((s) => ![200, 201, 503].includes(s)),
        [],
        "only 200, 201 and 503, never a 500 or a dropped connection",
      );
      for (const [what, window] of [["down", between(answers, down, restarting)], ["frozen", between(answers, frozen, thawing)]] as const) {
        assert.ok(
          window.length >= 3,
          `${what}: only ${window.length} requests: ${
            JSON.stringify(answers.map((a) => [a.path, a.start - down, a.end - down, a.status]))
          }`,
        );
        for (const a of window) {
          assert.equal(a.status, 503, `${what}: ${a.path} answered ${a.status} ${a.body}`);
          assert.equal(a.body, UNAVAILABLE);
          assert.ok(a.end - a.start < 2000, `${what}: ${a.path} took ${a.end - a.start} ms`);
        }
      }
      assert.equal(server.proc.pid, pid, "the same process throughout");
      assert.ok(server.proc.exitCode === null, "still running");
      assert.match(
        server.output(),
        /error storage unavailable on (GET|POST) \/api\/v1\/users(\/me)?: PostgreSQL: cannot [^\n]*(ECONNREFUSED|CONNECTION_CLOSED|ECONNRESET)/,
      );
      assert.match(
        server.output(),
        /error storage unavailable on (GET|POST) \/api\/v1\/users(\/me)?: PostgreSQL did not answer within 1500 ms/,
      );

      // Every acknowledged sign-up is there.
      const acknowledged = answers.filter((a) => a.status === 201).map((a) => a.email!);
      const stored = await onServer(cluster.url("app"), (sql) => sql<{ email: string }[]>`select email from users`);
      const emails = new Set(stored.map((r) => r.email));
      assert.ok(acknowledged.length > 0);
      assert.deepEqual(acknowledged.filter((e) => !emails.has(e)), []);
      const ms = (n: number) => `${n} ms`;
      console.log(
        `fault (${RUNTIME}): ${answers.length} requests, ${acknowledged.length} sign-ups acknowledged; ` +
          `served again ${ms(backAfter)} after PostgreSQL restarted, ${ms(thawedAfter)} after it thawed`,
      );
    });
  });
}
