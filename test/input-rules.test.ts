import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basic, testApp, testHasher } from "./helpers/app.ts";
import { createLogger } from "../src/lib/log.ts";
import { createKvDriver } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import { openOn } from "./helpers/file-fixtures.ts";
import type { StorageDriver } from "../src/storage/driver.ts";
import { makeUser } from "./helpers/driver-contract.ts";

/**
 * What a hostile client sends into fields: NULs and control characters
 * (refused, and escaped in the text log), look-alike emails, and passwords
 * that are guessable by their form.
 */

// deno-lint-ignore no-control-regex -- finding control characters is the point.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const error = async (r: Response) => ((await r.json()) as { error: string }).error;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;

describe("NUL bytes and control characters", () => {
  it("the text log escapes every control character: one line per event, nothing for a terminal to run", () => {
    const lines: string[] = [];
    const log = createLogger("info", (l) => void lines.push(l), "text");
    log.record("access", { path: "/a\u001b[31mred\u0000b", agent: "x\ny", del: "a\u007fb\u009bc", plain: "/ok" });
    log.error("failed", new Error("bad\ninput"));
    log.info("line\u2028sep");
    assert.equal(lines.length, 3);
    for (const l of lines) assert.doesNotMatch(l, CONTROL, JSON.stringify(l));
    assert.match(lines[0], / path="\/a\\u001b\[31mred\\u0000b" agent="x\\ny" del="a\\u007fb\\u009bc" plain=\/ok$/);
    assert.match(lines[1], /error failed: Error: bad\\ninput\\n/);
  });

  it("a NUL in a JSON body, a form, Basic credentials or the path is a 400 naming it", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    const open = testApp({ driver: t.driver });
    const cases: [string, Response][] = [
      ["email", await open.json("/api/v1/users", "POST", { email: "b\u0000ob@hbtn.io", password: "correct-Horse-9" })],
      [
        "first_name",
        await open.json("/api/v1/users", "POST", { email: "bob@hbtn.io", password: "correct-Horse-9", first_name: "B\u0000" }),
      ],
      ["email", await t.json("/api/v1/auth_session/login", "POST", { email: "bob@hbtn.io\u0000", password: "x" })],
      ["password", await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "a\u0000b" })],
    ];
    for (const [field, r] of cases) {
      assert.equal(r.status, 400, field);
      assert.equal(await error(r), `Bad request: "${field}" contains a NUL character`);
    }
    for (const path of ["/api/v1/users/%00", "/api/v1/users/a%00b?x=1", "/api/v1/status%00"]) {
      const r = await t.request(path);
      assert.equal(r.status, 400, path);
      assert.equal(await error(r), "Bad request: the request target contains a NUL character (%00)");
    }
    const b = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    await b.seed("bob@hbtn.io", "correct-Horse-9");
    const r = await b.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io\u0000", "correct-Horse-9") } });
    assert.equal(r.status, 400);
    assert.equal(await error(r), "Bad request: the Basic credentials contain a NUL character");
    assert.equal(await t.driver.countUsers(), 0, "nothing stored");
  });

  it("under basic_auth with the text log, a NUL in the email and %0a, %1b in the path forge no line", async () => {
    const lines: string[] = [];
    const t = testApp({ env: { AUTH_TYPE: "basic_auth", LOG_FORMAT: "text" }, logLines: lines });
    const forged = "/api/v1/users/x%0a2026-01-01T00:00:00.000Z%20info%20auth%20event=login%1b[2J";
    const r = await t.request(forged, { headers: { Authorization: basic("a\u0000@x.io", "pw") } });
    assert.equal(r.status, 400);
    await t.request("/api/v1/users/%1b]0;title%07", { headers: { Authorization: basic("bob@hbtn.io", "nope-nope-1") } });
    assert.ok(lines.length >= 2, lines.join("\n"));
    for (const l of lines) {
      assert.doesNotMatch(l, CONTROL, JSON.stringify(l));
      assert.match(l, /^\d{4}-\d\d-\d\dT[\d:.]+Z (info|warn|error) /);
    }
    assert.ok(lines.some((l) => l.includes("\\u001b[2J")), lines.join("\n"));
  });
});

describe("look-alike emails", () => {
  it("sign-up refuses edge whitespace, invisible, bidirectional and mixed-script emails", async () => {
    const t = testApp();
    const cases: [string, RegExp][] = [
      ["admin@hbtn.io ", /leading or trailing whitespace/],
      [" admin@hbtn.io", /leading or trailing whitespace/],
      ["ad\u200bmin@hbtn.io", /invisible \(zero-width\)/],
      ["admin\ufeff@hbtn.io", /invisible \(zero-width\)/],
      ["admin@hbtn\u2060.io", /invisible \(zero-width\)/],
      ["\u202eadmin@hbtn.io", /bidirectional/],
      ["admin\u200e@hbtn.io", /bidirectional/],
      ["adm\u0456n@hbtn.io", /mixes Latin with Cyrillic or Greek/], // Cyrillic і
      ["admin@hbtn.\u03bfrg", /mixes Latin with Cyrillic or Greek/], // Greek ο in "org"
      ["b\u0435n@hbtn.io", /mixes Latin with Cyrillic or Greek/], // Cyrillic е
    ];
    for (const [email, reason] of cases) {
      const r = await t.json("/api/v1/users", "POST", { email, password: "correct-Horse-9" });
      assert.equal(r.status, 400, JSON.stringify(email));
      const message = await error(r);
      assert.match(message, /^Can't create User: email /, JSON.stringify(email));
      assert.match(message, reason, JSON.stringify(email));
    }
    assert.equal(await t.driver.countUsers(), 0);
    // One script per part is fine: a Cyrillic name at a Latin domain, accents, other scripts.
    for (const email of ["иван@hbtn.io", "zoë@日本.jp", "αλέξης@hbtn.io", "josé@hbtn.io"]) {
      assert.equal((await t.json("/api/v1/users", "POST", { email, password: "correct-Horse-9" })).status, 201, email);
    }
  });

  it("NFD and NFC spellings are one address: stored in NFC, twins collide, login with either spelling", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    const open = testApp({ driver: t.driver });
    const nfd = "jose\u0301@hbtn.io";
    const created = await open.json("/api/v1/users", "POST", { email: nfd, password: "correct-Horse-9" });
    assert.equal(created.status, 201);
    assert.equal(((await created.json()) as { email: string }).email, "jos\u00e9@hbtn.io");
    const twin = await open.json("/api/v1/users", "POST", { email: "JOS\u00c9@hbtn.io", password: "correct-Horse-9" });
    assert.equal(twin.status, 400);
    assert.equal(await error(twin), "Can't create User: email already exists");
    for (const email of [nfd, "jos\u00e9@hbtn.io"]) {
      const r = await t.form("/api/v1/auth_session/login", { email, password: "correct-Horse-9" });
      assert.equal(r.status, 200, email);
    }
  });

  it("emails already stored are not rewritten: an NFD one and a padded one log in with their own spelling", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    // Written straight to storage, as a data file of the original would hold them.
    const legacy = makeUser({ email: "rene\u0301@hbtn.io", _password: await testHasher.hash("correct-Horse-9") });
    const padded = makeUser({ email: "admin@hbtn.io ", _password: await testHasher.hash("correct-Horse-9") });
    await t.driver.createUser(legacy);
    await t.driver.createUser(padded);
    assert.equal((await t.driver.getUser(legacy.id))?.email, "rene\u0301@hbtn.io", "not rewritten");
    const r = await t.form("/api/v1/auth_session/login", { email: "rene\u0301@hbtn.io", password: "correct-Horse-9" });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { id: string }).id, legacy.id);
    assert.equal((await t.form("/api/v1/auth_session/login", { email: "admin@hbtn.io ", password: "correct-Horse-9" })).status, 200);
  });

  const durable: [string, () => Promise<StorageDriver>][] = [
    ["file", () => {
      dirs.push(mkdtempSync(join(tmpdir(), "email-file-")));
      return openOn(dirs.at(-1)!);
    }],
    ["kv", async () => {
      dirs.push(mkdtempSync(join(tmpdir(), "email-kv-")));
      const kv = await openKvStore(join(dirs.at(-1)!, "t.kv"), { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined });
      return createKvDriver(kv, { now: Date.now });
    }],
  ];
  for (const [name, open] of durable) {
    it(`on ${name} storage too, NFD and NFC twins collide and either spelling logs in`, async () => {
      const driver = await open();
      try {
        const t = testApp({ env: { AUTH_TYPE: "session_db_auth" }, driver });
        const open = testApp({ driver });
        assert.equal((await open.json("/api/v1/users", "POST", { email: "jose\u0301@hbtn.io", password: "correct-Horse-9" })).status, 201);
        const twin = await open.json("/api/v1/users", "POST", { email: "JOS\u00c9@hbtn.io", password: "correct-Horse-9" });
        assert.equal(await error(twin), "Can't create User: email already exists");
        assert.equal((await t.form("/api/v1/auth_session/login", { email: "jos\u00e9@hbtn.io", password: "correct-Horse-9" })).status, 200);
        assert.equal((await driver.findUserByEmail("jos\u00e9@hbtn.io"))?.email, "jos\u00e9@hbtn.io", "stored in NFC");
      } finally {
        await driver.close();
      }
    });
  }
});

describe("passwords guessable by their form", () => {
  it("sign-up refuses repetitive, sequential, common-plus-digits and the service's name; a lone surrogate is a 400", async () => {
    const t = testApp();
    const cases: [string, RegExp][] = [
      ["aaaaaaaa", /repeats one character or a short block/],
      ["ZZZZZZZZZZ", /repeats one character or a short block/],
      ["abcabcab", /repeats one character or a short block/],
      ["xy12xy12xy12", /repeats one character or a short block/],
      ["abcdefgh", /is a sequence/],
      ["HGFEDCBA", /is a sequence/],
      ["87654321", /is a sequence/],
      ["56789012", /is a sequence/],
      ["wertyuio", /is a sequence/],
      ["zertyuiopq", /is a sequence/],
      ["letmein123", /common password with digits added/],
      ["sunshine2024", /common password with digits added/],
      ["my-Session-key-9", /contains the service's name/],
      ["Authentication!7", /contains the service's name/],
      ["\ud800-correct-Horse-9", /not valid Unicode/],
      ["correct-Horse-9\udfff", /not valid Unicode/],
    ];
    for (const [password, reason] of cases) {
      const r = await t.json("/api/v1/users", "POST", { email: "ann@hbtn.io", password });
      assert.equal(r.status, 400, JSON.stringify(password));
      const message = await error(r);
      assert.match(message, /^Can't create User: password /, JSON.stringify(password));
      assert.match(message, reason, JSON.stringify(password));
    }
    // A lone surrogate as JSON sends it.
    const raw = await t.request("/api/v1/users", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"email": "ann@hbtn.io", "password": "\\ud800"}',
    });
    assert.equal(raw.status, 400);
    assert.match(await error(raw), /^Can't create User: password is not valid Unicode/);
    assert.equal(await t.driver.countUsers(), 0);
    for (const password of ["correct-Horse-9", "Tr0mbone-Sky-4", "H0lbertonSchool98!", "author-of-books-7", "😀😀😀😀😀😀😀😃"]) {
      assert.equal(
        (await t.json("/api/v1/users", "POST", { email: `u${password.length}${password.charCodeAt(1)}@hbtn.io`, password })).status,
        201,
        password,
      );
    }
  });

  it("a password change obeys the same rules", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    await t.seed("ann@hbtn.io", "correct-Horse-9");
    const auth = { Authorization: basic("ann@hbtn.io", "correct-Horse-9") };
    for (const [new_password, reason] of [["12121212", /repeats/], ["2wsx3edc4rfv", /sequence/], ["letmein123", /digits added/]] as const) {
      const r = await t.json("/api/v1/users/me/password", "PUT", { current_password: "correct-Horse-9", new_password }, auth);
      assert.equal(r.status, 400, new_password);
      assert.match(await error(r), reason);
    }
    const surrogate = await t.request("/api/v1/users/me/password", {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: '{"current_password": "correct-Horse-9", "new_password": "Tr0mbone-Sky-4\\udc00"}',
    });
    assert.equal(surrogate.status, 400);
    assert.match(await error(surrogate), /not valid Unicode/);
    assert.equal(
      (await t.json("/api/v1/users/me/password", "PUT", { current_password: "correct-Horse-9", new_password: "Tr0mbone-Sky-4" }, auth))
        .status,
      200,
    );
  });
});
