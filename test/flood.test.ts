import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME, type Server, startServer, tsCommand } from "./helpers/server.ts";

/**
 * A connection flood must not take the server down: more connections than
 * its descriptor limit allows are refused quickly while they last, idle and
 * slow ones are closed by the timeouts, and a normal request is served
 * once the flood ends. Real server, real sockets, a low `ulimit -n` for the
 * server process. The bounds below only tell a hang from an answer: they are
 * generous, so a loaded machine does not fail them.
 */

type Probe = { outcome: number | "refused" | "timeout"; ms: number };

/** One request on a fresh connection: its status, "refused" (closed or reset), or "timeout". */
function probe(port: number, timeoutMs = 5000): Promise<Probe> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    const done = (outcome: Probe["outcome"]) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    socket.on("connect", () => socket.write("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    socket.on("data", (d) => {
      data += String(d);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) done(Number(m[1]));
    });
    socket.on("error", () => done("refused"));
    socket.on("close", () => done("refused"));
  });
}

/** Opens `n` connections: half send nothing, half a request head that never ends. */
async function flood(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    if (i % 2) s.on("connect", () => s.write("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    sockets.push(s);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
  }
  return sockets;
}

/** Resolves when the server closes a connection, with the time it took (ms), or null after `limitMs`. */
function closedAfter(socket: Socket, limitMs: number): Promise<number | null> {
  const started = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), limitMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Math.round(performance.now() - started));
    });
  });
}

describe(`connection flood on ${RUNTIME}`, { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string>, nofile?: number) => {
    const dir = mkdtempSync(join(tmpdir(), "flood-"));
    dirs.push(dir);
    const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
    const cmd: [string, string[]] = nofile ? ["sh", ["-c", `ulimit -n ${nofile} && exec "$0" "$@"`, bin, ...args]] : [bin, args];
    const s = await startServer({ DATA_DIR: dir, ...env }, cmd);
    servers.push(s);
    return { s, port: Number(new URL(s.url).port) };
  };

  it("600 connections against a limit of 256 descriptors: refusals, not hangs, then service once the flood ends", async () => {
    const { s, port } = await start({ HEADERS_TIMEOUT: "120", KEEP_ALIVE_TIMEOUT: "120" }, 256);
    assert.equal((await probe(port)).outcome, 200);
    const sockets = await flood(port, 600);
    await new Promise((r) => setTimeout(r, 500));
    // While flooded: a client is told no at once (refused, or a 503), never left hanging.
    const during = await probe(port);
    assert.ok(during.outcome !== "timeout", `a request during the flood hung: ${JSON.stringify(during)}`);
    assert.notEqual(during.outcome, 200, "the flood did fill the server");
    await new Promise((r) => setTimeout(r, 2000));
    for (const socket of sockets) socket.destroy();
    // The server's own timeouts (120 s) are far off: served within this bound, it noticed the clients leave.
    const closed = performance.now();
    let served: Probe | null = null;
    while (performance.now() - closed < 30_000) {
      const p = await probe(port, 2000);
      if (p.outcome === 200) {
        served = p;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = Math.round(performance.now() - closed);
    assert.ok(served, `no request served within 30 s of the flood ending; server log:\n${s.output().slice(-2000)}`);
    console.log(
      `# ${RUNTIME}: during the flood a request got ${during.outcome} in ${during.ms} ms; served ${after} ms after the flood ended`,
    );
    assert.doesNotMatch(s.output(), /Too many open files|Uncaught|panicked/);
    assert.equal(s.proc.exitCode, null, "still running");
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
  });

  it("a request the HTTP parser refuses gets a 400, in JSON where the runtime lets the app answer", async () => {
    const { s, port } = await start({});
    for (const raw of ["GARBAGE\r\n\r\n", "GET /api/v1/status HTTP/1.7\r\nHost: x\r\n\r\n", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"]) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port }, () => socket.write(raw));
        let data = "";
        socket.on("data", (d) => (data += String(d)));
        socket.on("close", () => resolve(data));
        socket.on("error", () => {});
        setTimeout(() => socket.destroy(), 3000);
      });
      assert.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(raw));
      // Deno's HTTP layer answers these itself, before any application code.
      if (RUNTIME !== "deno") {
        assert.match(answer, /\r\n\r\n\{"error":"Bad Request"\}$/, answer);
        assert.match(answer, /\r\nx-content-type-options: nosniff\r\n/i, answer);
      }
    }
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
  });

  it("closes connections that send no request head (HEADERS_TIMEOUT) and idle keep-alive ones (KEEP_ALIVE_TIMEOUT)", async () => {
    const { s, port } = await start({ HEADERS_TIMEOUT: "1", KEEP_ALIVE_TIMEOUT: "1" });
    const silent = connect({ host: "127.0.0.1", port });
    silent.on("error", () => {});
    const slow = connect({ host: "127.0.0.1", port });
    slow.on("error", () => {});
    slow.on("connect", () => slow.write("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n"));
    const idle = connect({ host: "127.0.0.1", port });
    idle.on("error", () => {});
    idle.on("connect", () => idle.write("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const answered = new Promise<void>((r) => idle.once("data", () => r()));
    // Generous bounds: the timeouts are 1 s; these only fail if a connection is never closed.
    const [a, b, c] = await Promise.all([closedAfter(silent, 8000), closedAfter(slow, 8000), closedAfter(idle, 8000)]);
    await answered;
    assert.ok(a !== null, "a connection that sends nothing is closed");
    assert.ok(b !== null, "a request head that never ends is cut off");
    assert.ok(c !== null, "an idle keep-alive connection is closed");
    console.log(`# ${RUNTIME}: closed after ${a} ms (silent), ${b} ms (slow head), ${c} ms (idle keep-alive)`);
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
  });
});
