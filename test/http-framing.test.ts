import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME, type Server, startServer } from "./helpers/server.ts";

/**
 * HTTP/1.1 framing, on the real server of each runtime over raw sockets
 * (RFC 9112 §6.3, §3.2): a request whose length is ambiguous or whose Host
 * is missing or wrong gets a 400 in JSON with the headers every answer has,
 * and the connection closes, so bytes after it can never run as a second
 * request (request smuggling behind a proxy that reads the length
 * differently). Answers the HTTP layer writes for a head too large are
 * shaped the same way.
 */

type Exchange = { text: string; closed: boolean };

/** Sends `raw` on a fresh connection; resolves with all that came back and whether the server closed the connection within 3 s. */
function exchange(port: number, raw: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(raw));
    let text = "";
    // The server may close while a huge request is still being written: what it answered is still read.
    socket.on("error", () => {});
    socket.on("data", (d) => (text += String(d)));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, 3000);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

/** Asserts one JSON error answer of `status` with the security headers, on a connection the server closed. */
function assertRefused(x: Exchange, status: number, what: string): void {
  const answers = x.text.match(/HTTP\/1\.[01] \d{3} /g) ?? [];
  assert.equal(answers.length, 1, `${what}: one answer, nothing run after it:\n${x.text.slice(0, 600)}`);
  assert.match(x.text, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}:\n${x.text.slice(0, 600)}`);
  const [head, body] = [x.text.slice(0, x.text.indexOf("\r\n\r\n")), x.text.slice(x.text.indexOf("\r\n\r\n") + 4)];
  assert.match(head, /\r\ncontent-type: application\/json/i, what);
  assert.match(head, /\r\nx-content-type-options: nosniff(\r\n|$)/i, what);
  assert.match(head, /\r\ncache-control: no-store(\r\n|$)/i, what);
  assert.match(head, /\r\nconnection: close(\r\n|$)/i, what);
  const parsed = JSON.parse(body) as { error: unknown };
  assert.equal(typeof parsed.error, "string", `${what}: ${body}`);
  assert.ok(x.closed, `${what}: the server closed the connection`);
}

const STATUS = "/api/v1/status";

describe(`HTTP/1.1 framing on ${RUNTIME}`, { timeout: 120_000 }, () => {
  let dir = "";
  let server: Server;
  let port = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "framing-"));
    server = await startServer({ DATA_DIR: dir });
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server?.stop("SIGKILL").catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves two well-formed requests on one connection, and an HTTP/1.0 one without Host", async () => {
    const two = `GET ${STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET ${STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    const x = await exchange(port, two);
    assert.equal(x.text.match(/HTTP\/1\.1 200 /g)?.length, 2, x.text);
    const old = await exchange(port, `GET ${STATUS} HTTP/1.0\r\n\r\n`);
    assert.match(old.text, /^HTTP\/1\.[01] 200 /, old.text);
  });

  it("Content-Length with Transfer-Encoding: chunked is refused, and what follows the chunked end never runs", async () => {
    const smuggled = `GET /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    for (const [name, te] of [["chunked", "chunked"], ["Chunked, after another coding", "gzip, chunked"]]) {
      const raw = `POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: 5\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n${smuggled}`;
      assertRefused(await exchange(port, raw), 400, name);
    }
  });

  it("a bad Content-Length is refused: negative, not a number, a list, two different values", async () => {
    const cases: Record<string, string> = {
      "-1": "Content-Length: -1\r\n",
      abc: "Content-Length: abc\r\n",
      "1, 2": "Content-Length: 1, 2\r\n",
      "1 then 2": "Content-Length: 1\r\nContent-Length: 2\r\n",
    };
    for (const [name, header] of Object.entries(cases)) {
      const raw = `POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${header}\r\n{}`;
      assertRefused(await exchange(port, raw), 400, `Content-Length ${name}`);
    }
  });

  it("an HTTP/1.1 request without Host, with two, or with one that is not host[:port] is refused", async () => {
    const cases: Record<string, string> = {
      "no Host": "",
      "two Hosts": "Host: a.example\r\nHost: b.example\r\n",
      "Host with a space": "Host: a b\r\n",
      "Host with a path": "Host: a.example/api/v1/users#\r\n",
    };
    for (const [name, header] of Object.entries(cases)) {
      const x = await exchange(port, `GET ${STATUS} HTTP/1.1\r\n${header}\r\n`);
      assertRefused(x, 400, name);
      assert.match(x.text, /Host header/, name);
    }
  });

  it("what the HTTP parser refuses is answered in JSON too: a garbled request line, a 1 MB head, a 100 KB target", async () => {
    assertRefused(await exchange(port, "GARBAGE\r\n\r\n"), 400, "garbled request line");
    const bigHead = `GET ${STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\n` + `X-Filler: ${"a".repeat(1000)}\r\n`.repeat(1000) + "\r\n";
    assertRefused(await exchange(port, bigHead), 431, "1 MB header block");
    const longTarget = `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    assertRefused(await exchange(port, longTarget), 431, "100 KB target");
  });

  it("a Transfer-Encoding not ending in chunked, a broken chunk, an unknown Expect and CONNECT get one JSON answer each", async () => {
    const post = "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    assertRefused(await exchange(port, `${post}Transfer-Encoding: gzip\r\n\r\n{}`), 400, "Transfer-Encoding: gzip");
    assertRefused(await exchange(port, `${post}Transfer-Encoding: chunked, gzip\r\n\r\n{}`), 400, "chunked, then gzip");
    // A chunk size that is not hex: Bun finds it only once the app has begun to answer, so the answer may be the app's.
    const broken = await exchange(port, `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`);
    assert.equal(broken.text.match(/HTTP\/1\.[01] \d{3} /g)?.length, 1, broken.text);
    assert.match(broken.text, /^HTTP\/1\.1 400 [^]*\r\nx-content-type-options: nosniff/i, broken.text);
    assert.ok(broken.closed, "a broken chunk closes the connection");
    assertRefused(await exchange(port, `${post}Expect: 200-ok\r\nContent-Length: 2\r\n\r\n{}`), 417, "Expect: 200-ok");
    assertRefused(await exchange(port, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"), 501, "CONNECT");
  });

  it("still serves after all of these, and stops cleanly", async () => {
    const x = await exchange(port, `GET ${STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.match(x.text, /^HTTP\/1\.1 200 /, x.text);
    assert.doesNotMatch(server.output(), /Uncaught|panicked|request failed/);
    assert.equal(await server.stop("SIGTERM"), 0);
  });
});
