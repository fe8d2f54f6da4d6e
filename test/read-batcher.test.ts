import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReadBatcher } from "../src/storage/read-batcher.ts";
import { createLogger, isoNow } from "../src/lib/log.ts";
import { readCookie } from "../src/http/cookies.ts";
import { sha256, sha256Hex, toHex, useNativeSha256Hex } from "../src/lib/sha256.ts";

/** A key-value store whose reads take a snapshot when they start and answer when the test releases them. */
function slowStore() {
  const data = new Map<string, string>();
  const calls: { keys: string[]; release: () => void }[] = [];
  const readMany = (keys: string[]) => {
    const snapshot = keys.map((k) => data.get(k) ?? "none");
    return new Promise<string[]>((resolve) => calls.push({ keys, release: () => resolve(snapshot) }));
  };
  return { data, calls, readMany };
}
const tick = () => new Promise((r) => setTimeout(r, 0));
/** A batcher over a slow store, keys as their own ids. */
const batcherOf = (s: ReturnType<typeof slowStore>, maxBatch = 10, maxInFlight = 1) =>
  createReadBatcher({ readMany: s.readMany, id: (k: string) => k, maxBatch, maxInFlight });

describe("read batcher", () => {
  it("sends a read at once when nothing is in flight", async () => {
    const s = slowStore();
    s.data.set("a", "1");
    const read = batcherOf(s);
    const a = read("a");
    await tick();
    assert.deepEqual(s.calls.map((c) => c.keys), [["a"]]);
    s.calls[0].release();
    assert.equal(await a, "1");
  });

  it("gathers the reads asked for while one is in flight into one call, one read per key", async () => {
    const s = slowStore();
    for (const k of ["a", "b", "c"]) s.data.set(k, k.toUpperCase());
    const read = batcherOf(s);
    const first = read("a");
    await tick();
    const later = [read("b"), read("c"), read("b"), read("a")];
    await tick();
    assert.equal(s.calls.length, 1, "nothing more goes out while the slot is busy");
    s.calls[0].release();
    await first;
    await tick();
    assert.deepEqual(s.calls.map((c) => c.keys), [["a"], ["b", "c", "a"]]);
    s.calls[1].release();
    assert.deepEqual(await Promise.all(later), ["B", "C", "B", "A"]);
  });

  it("never answers a request with a read that started before it was asked (a logout is seen by every later request)", async () => {
    const s = slowStore();
    s.data.set("session", "live");
    const read = batcherOf(s);
    const before = read("session");
    await tick();
    s.data.set("session", "ended"); // the logout completes while the first read is out
    const after = read("session");
    await tick();
    s.calls[0].release();
    assert.equal(await before, "live");
    await tick();
    assert.equal(s.calls.length, 2, "the later request got a read of its own");
    s.calls[1].release();
    assert.equal(await after, "ended");
  });

  it("splits batches at maxBatch and keeps up to maxInFlight calls out", async () => {
    const s = slowStore();
    const read = batcherOf(s, 2, 2);
    const all = ["a", "b", "c", "d", "e"].map((k) => read(k));
    await tick();
    assert.deepEqual(s.calls.map((c) => c.keys), [["a", "b"], ["c", "d"]]);
    s.calls[0].release();
    await tick();
    assert.deepEqual(s.calls.map((c) => c.keys), [["a", "b"], ["c", "d"], ["e"]]);
    s.calls[1].release();
    s.calls[2].release();
    assert.deepEqual(await Promise.all(all), ["none", "none", "none", "none", "none"]);
  });

  it("fails only the requests of a failed call; the next call goes out", async () => {
    let fail = true;
    const read = createReadBatcher({
      readMany: (keys: string[]) => (fail ? Promise.reject(new Error("storage down")) : Promise.resolve(keys.map((k) => k + "!"))),
      id: (k: string) => k,
      maxBatch: 10,
      maxInFlight: 1,
    });
    const failed = [read("a"), read("b")];
    for (const p of failed) await assert.rejects(p, /storage down/);
    fail = false;
    assert.equal(await read("a"), "a!");
  });

  it("survives a readMany that throws instead of rejecting", async () => {
    let calls = 0;
    const read = createReadBatcher({
      readMany: (keys: string[]) => {
        if (calls++ === 0) throw new Error("bad call");
        return Promise.resolve(keys);
      },
      id: (k: string) => k,
      maxBatch: 10,
      maxInFlight: 1,
    });
    await assert.rejects(read("x"), /bad call/);
    assert.equal(await read("y"), "y");
  });
});

describe("hot-path helpers", () => {
  it("isoNow writes what toISOString writes", () => {
    const samples = [0, 999, 1000, 1_764_558_245_007, 1_764_558_245_070, 1_764_558_245_700, 1_764_558_246_000, Date.now()];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800_000));
    for (const t of samples) assert.equal(isoNow(t), new Date(t).toISOString(), String(t));
    // Back and forth across a second boundary, as log lines of concurrent requests may come.
    for (const t of [5_000_999, 5_001_000, 5_000_998, 5_001_001]) assert.equal(isoNow(t), new Date(t).toISOString());
  });

  it("a native SHA-256 is used only when it answers correctly", () => {
    try {
      assert.equal(useNativeSha256Hex(() => "0".repeat(64)), false);
      assert.equal(sha256Hex("abc"), toHex(sha256("abc")));
      let used = 0;
      assert.equal(
        useNativeSha256Hex((s) => {
          used++;
          return toHex(sha256(s));
        }),
        true,
      );
      const before = used;
      assert.equal(sha256Hex("token"), toHex(sha256("token")));
      assert.equal(used, before + 1);
    } finally {
      useNativeSha256Hex(() => ""); // back to this file's hash
    }
    assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("readCookie finds the first cookie of that exact name, trimmed and unquoted", () => {
    const name = "_my_session_id";
    const cases: [string | null, string | null][] = [
      [null, null],
      ["", null],
      [`${name}=abc`, "abc"],
      [`theme=dark; ${name}=abc; other=1`, "abc"],
      [`  ${name}  =  abc  ;x=1`, "abc"],
      [`x${name}=no; ${name}x=no; ${name}=yes`, "yes"],
      [`${name}=first; ${name}=second`, "first"],
      [`${name}="quoted"`, "quoted"],
      [`${name}="`, '"'],
      [`${name}=`, ""],
      [`flag; ${name}=abc`, "abc"],
      [`flag;${name}`, null],
      [`a=1;; ;${name}=v=w;`, "v=w"],
      [`${name}`, null],
      [`other=1; flag`, null],
    ];
    for (const [header, want] of cases) assert.equal(readCookie(header, name), want, String(header));
    // A long header of parts without "=" (the search for the next one is not repeated per part).
    assert.equal(readCookie(";a".repeat(40_000) + `;${name}=end`, name), "end");
    assert.equal(readCookie(";a".repeat(40_000), name), null);
  });

  it("log lines quote strings that need it and write numbers as they are", () => {
    const lines: string[] = [];
    const log = createLogger("info", (l) => lines.push(l));
    log.record("access", { method: "GET", path: "/a b", status: 200, ms: 0.5, client: 'x"y', n: NaN, e: "" });
    assert.match(lines[0], / info access method=GET path="\/a b" status=200 ms=0.5 client="x\\"y" n=NaN e=""$/);
  });
});

describe("read batcher deadline", () => {
  it("answers every request within timeoutMs of its asking, those waiting behind stuck calls included", async () => {
    const stuck: (() => void)[] = [];
    const read = createReadBatcher({
      // A storage that stopped answering: calls come back (failed) only when the test says so.
      readMany: () => new Promise<string[]>((_, reject) => stuck.push(() => reject(new Error("gone")))),
      id: (k: string) => k,
      maxBatch: 10,
      maxInFlight: 1,
      timeoutMs: 150,
      timeoutError: () => new Error("timed out"),
    });
    const started = Date.now();
    const first = read("a").catch((e: Error) => [e.message, Date.now() - started]);
    await tick();
    const behind = read("b").catch((e: Error) => [e.message, Date.now() - started]);
    const [m1, t1] = (await first) as [string, number];
    const [m2, t2] = (await behind) as [string, number];
    assert.equal(m1, "timed out");
    assert.equal(m2, "timed out");
    // Both settled although the storage never answered (without the deadline the second would wait forever,
    // and the test would hang); and not before the deadline, which no load on the machine can make happen.
    assert.ok(t1 >= 140, `first settled after ${t1} ms, before its deadline`);
    assert.ok(t2 >= 140, `second settled after ${t2} ms, before its deadline`);
    stuck.forEach((f) => f());
  });

  it("a late answer after the deadline changes nothing, and the next requests are served", async () => {
    let release: (v: string[]) => void = () => {};
    let calls = 0;
    const read = createReadBatcher({
      readMany: (
        keys: string[],
      ) => (calls++ === 0 ? new Promise<string[]>((r) => (release = r)) : Promise.resolve(keys.map((k) => k + "!"))),
      id: (k: string) => k,
      maxBatch: 10,
      maxInFlight: 1,
      timeoutMs: 50,
    });
    await assert.rejects(read("a"), /no answer within 50 ms/);
    release(["late"]);
    assert.equal(await read("b"), "b!");
  });
});
