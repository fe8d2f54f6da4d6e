import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../src/domain/errors.ts";
import { sha256Hex } from "../src/lib/sha256.ts";
import type { UserRecord } from "../src/domain/records.ts";
import { makeSession, makeUser, runDriverContract } from "./helpers/driver-contract.ts";
import { runAccountContract } from "./helpers/account-contract.ts";
import { LEGACY_TOKEN, openOn, ORIGINAL_SESSIONS, ORIGINAL_USERS, removeDir, tempDir } from "./helpers/file-fixtures.ts";

runDriverContract("file", async () => {
  const dir = await tempDir();
  return { driver: await openOn(dir), reopen: () => openOn(dir), cleanup: () => removeDir(dir) };
});
runAccountContract("file", async () => {
  const dir = await tempDir();
  return { driver: await openOn(dir), reopen: () => openOn(dir), cleanup: () => removeDir(dir) };
});

const USER_KEYS = ["id", "created_at", "updated_at", "email", "_password", "first_name", "last_name"];
const JOURNAL = ".db_journal.1.jsonl";

describe("file driver: the original's data folder", () => {
  it("loads it as it is: legacy hashes, null password, duplicate emails (first wins), empty email, non-ASCII", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ".db_User.json"), ORIGINAL_USERS);
    const d = await openOn(dir);
    assert.deepEqual((await d.listUsers()).map((u) => u.id), ["u1", "u2", "u3", "u4"]);
    assert.equal((await d.findUserByEmail("bob@hbtn.io"))?.id, "u1");
    assert.deepEqual(await d.getUser("u3"), {
      id: "u3",
      created_at: "2024-03-03T00:00:00",
      updated_at: "2024-03-03T00:00:00",
      email: "",
      _password: null,
      first_name: null,
      last_name: null,
    });
    const u4 = await d.getUser("u4");
    assert.equal(u4?.first_name, "Zoë");
    assert.equal(u4?.last_name, "日本 🎉");
    // A password re-hash of the first duplicate must not hand its email to the second.
    await d.updateUser({ ...(await d.getUser("u1"))!, _password: "pbkdf2_sha256$600000$c2FsdA$aGFzaA" });
    assert.equal((await d.findUserByEmail("bob@hbtn.io"))?.id, "u1");
    await d.close();
    await removeDir(dir);
  });

  it("writes it back in the original's exact format, and only the two files stay", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ".db_User.json"), ORIGINAL_USERS);
    await writeFile(join(dir, ".db_UserSession.json"), ORIGINAL_SESSIONS);
    const d = await openOn(dir);
    await d.close();
    // Rewritten at startup (legacy session), byte for byte what json.dump wrote.
    assert.equal(await readFile(join(dir, ".db_User.json"), "utf8"), ORIGINAL_USERS);
    const d2 = await openOn(dir);
    const added = makeUser({ first_name: "Zoë", last_name: "日本 🎉" });
    await d2.createUser(added);
    await d2.close();
    assert.deepEqual((await readdir(dir)).sort(), [".db_User.json", ".db_UserSession.json"]);
    const text = await readFile(join(dir, ".db_User.json"), "utf8");
    assert.match(text, /^[\x20-\x7e]*$/, "non-ASCII is escaped, as json.dump does");
    assert.ok(text.endsWith(`"first_name": "Zo\\u00eb", "last_name": "\\u65e5\\u672c \\ud83c\\udf89"}}`));
    const parsed = JSON.parse(text) as Record<string, UserRecord>;
    assert.deepEqual(Object.keys(parsed), ["u1", "u2", "u3", "u4", added.id]);
    for (const u of Object.values(parsed)) assert.deepEqual(Object.keys(u), USER_KEYS);
    assert.deepEqual(parsed[added.id], added);
    await removeDir(dir);
  });

  it("takes over legacy session ids hashed, and the raw tokens leave the disk at once", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ".db_User.json"), ORIGINAL_USERS);
    await writeFile(join(dir, ".db_UserSession.json"), ORIGINAL_SESSIONS);
    const logs: string[] = [];
    const d = await openOn(dir, {}, logs);
    assert.equal((await d.getSession(sha256Hex(LEGACY_TOKEN)))?.user_id, "u1");
    assert.equal(await d.getSession(LEGACY_TOKEN), null);
    assert.ok(logs.some((l) => l.includes("legacy session")));
    const onDisk = await readFile(join(dir, ".db_UserSession.json"), "utf8");
    assert.ok(!onDisk.includes(LEGACY_TOKEN));
    assert.ok(onDisk.includes(sha256Hex(LEGACY_TOKEN)));
    await d.close();
    await removeDir(dir);
  });

  it("refuses a data file that is not UTF-8 and leaves it byte for byte; reads one that starts with a byte order mark", async () => {
    const dir = await tempDir();
    // "Zo\xeb": Latin-1, as an editor may save it.
    const latin1 = new Uint8Array([
      ...new TextEncoder().encode('{"u1": {"id": "u1", "email": "a@b.c", "first_name": "Zo'),
      0xeb,
      0x22,
      0x7d,
      0x7d,
    ]);
    await writeFile(join(dir, ".db_User.json"), latin1);
    await assert.rejects(openOn(dir), (e: Error) => {
      assert.ok(e instanceof StartupError);
      assert.match(e.message, /not valid UTF-8/);
      assert.ok(e.message.includes(join(dir, ".db_User.json")), e.message);
      return true;
    });
    assert.deepEqual(new Uint8Array(await readFile(join(dir, ".db_User.json"))), latin1);
    await removeDir(dir);

    const bom = await tempDir();
    const text = '{"u1": {"id": "u1", "email": "a@b.c", "first_name": "Zo\u00eb"}}';
    await writeFile(join(bom, ".db_User.json"), new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]));
    const d = await openOn(bom);
    assert.equal((await d.getUser("u1"))?.first_name, "Zoë");
    await d.close();
    await removeDir(bom);
  });

  for (const file of [".db_User.json", ".db_UserSession.json"]) {
    it(`refuses an unparsable ${file}, naming it and the position, and leaves it byte for byte`, async () => {
      const dir = await tempDir();
      const broken = '{"u1": {"id": "u1", "email": "a@b.c",\n "first_name": }';
      await writeFile(join(dir, file), broken);
      await assert.rejects(openOn(dir), (e: Error) => {
        assert.ok(e instanceof StartupError);
        assert.ok(e.message.includes(join(dir, file)), e.message);
        assert.match(e.message, /line 2, column 16/);
        return true;
      });
      assert.equal(await readFile(join(dir, file), "utf8"), broken);
      // The failed start released its lock and wrote nothing.
      assert.deepEqual(await readdir(dir), [file]);
      await removeDir(dir);
    });
  }
});

/** Runs `ops` one by one on a fresh folder; returns the journal bytes and the users after each op. */
async function journalOf(ops: ((d: Awaited<ReturnType<typeof openOn>>) => Promise<unknown>)[]) {
  const dir = await tempDir();
  const d = await openOn(dir);
  const states: UserRecord[][] = [[]];
  for (const op of ops) {
    await op(d);
    states.push(await d.listUsers());
  }
  const bytes = new Uint8Array(await readFile(join(dir, JOURNAL)));
  await d.close();
  await removeDir(dir);
  return { bytes, states };
}

describe("file driver: journal recovery", () => {
  const a = makeUser({ first_name: "Ann" });
  const b = makeUser({ last_name: "Ñandú 🎉" });
  const c = makeUser();
  const ops = [
    (d: Awaited<ReturnType<typeof openOn>>) => d.createUser(a),
    (d: Awaited<ReturnType<typeof openOn>>) => d.createUser(b),
    (d: Awaited<ReturnType<typeof openOn>>) => d.createSession(makeSession(a.id), null),
    (d: Awaited<ReturnType<typeof openOn>>) => d.updateUser({ ...a, first_name: "Anne" }),
    (d: Awaited<ReturnType<typeof openOn>>) => d.deleteUser(a.id),
    (d: Awaited<ReturnType<typeof openOn>>) => d.importRecords([c, makeUser(), makeUser()], []),
    (d: Awaited<ReturnType<typeof openOn>>) => d.updateUser({ ...b, first_name: "Bea" }),
  ];

  it("recovers a journal cut at any byte: whole lines kept, the torn one dropped and logged", async () => {
    const { bytes, states } = await journalOf(ops);
    const cuts = new Set([0, 1, bytes.length - 1, bytes.length]);
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) [i, i + 1, i + 2].forEach((x) => cuts.add(x));
    while (cuts.size < 60) cuts.add(Math.floor(Math.random() * bytes.length));
    for (const cut of cuts) {
      if (cut > bytes.length) continue;
      const dir = await tempDir();
      await writeFile(join(dir, JOURNAL), bytes.subarray(0, cut));
      const logs: string[] = [];
      const d = await openOn(dir, {}, logs);
      const whole = bytes.subarray(0, cut).lastIndexOf(0x0a) + 1;
      const lines = bytes.subarray(0, whole).filter((x) => x === 0x0a).length;
      assert.deepEqual(await d.listUsers(), states[lines], `cut at byte ${cut}`);
      assert.equal(logs.filter((l) => l.includes("torn")).length, whole < cut ? 1 : 0, `cut at byte ${cut}`);
      assert.equal((await readFile(join(dir, JOURNAL))).length, whole, "the torn line is cut off on disk");
      await d.close();
      await removeDir(dir);
    }
  });

  it("refuses a journal whose damaged line is followed by valid ones, naming the file and line", async () => {
    const { bytes } = await journalOf(ops);
    const secondLine = bytes.indexOf(0x0a) + 1;
    for (const offset of [3, 20]) {
      const damaged = bytes.slice();
      damaged[secondLine + offset] ^= 0x01;
      const dir = await tempDir();
      await writeFile(join(dir, JOURNAL), damaged);
      await assert.rejects(openOn(dir), (e: Error) => {
        assert.ok(e instanceof StartupError);
        assert.ok(e.message.includes(join(dir, JOURNAL)) && /line 2\b/.test(e.message), e.message);
        return true;
      });
      assert.deepEqual(new Uint8Array(await readFile(join(dir, JOURNAL))), damaged, "left untouched");
      assert.deepEqual((await readdir(dir)).sort(), [JOURNAL]);
      await removeDir(dir);
    }
  });

  it("replays journals left by a compaction cut short over the newer snapshot, to the same state", async () => {
    const dir = await tempDir();
    const d = await openOn(dir);
    for (const op of ops.slice(0, 5)) await op(d);
    const gen1 = await readFile(join(dir, JOURNAL));
    await d.compact(); // snapshot covers generation 1, which is then deleted
    for (const op of ops.slice(5)) await op(d);
    const gen2 = await readFile(join(dir, ".db_journal.2.jsonl"));
    const snapshot = await readFile(join(dir, ".db_User.json"));
    const expected = await d.listUsers();
    assert.equal(d.stats().compactions, 1);
    // Rebuild the folder as a crash after the snapshot's rename, before the journals' removal, leaves it.
    const crashed = await tempDir();
    await writeFile(join(crashed, ".db_User.json"), snapshot);
    await writeFile(join(crashed, JOURNAL), gen1);
    await writeFile(join(crashed, ".db_journal.2.jsonl"), gen2);
    const again = await openOn(crashed);
    assert.deepEqual(await again.listUsers(), expected);
    await again.close();
    await d.close();
    await Promise.all([removeDir(dir), removeDir(crashed)]);
  });

  it("compacts in the background and keeps the commits that arrive meanwhile", async () => {
    const dir = await tempDir();
    const d = await openOn(dir, { compactEvery: 50 });
    const users = Array.from({ length: 400 }, () => makeUser());
    await Promise.all(users.map(async (u, i) => {
      await new Promise((r) => setTimeout(r, i % 40));
      await d.createUser(u);
      await d.updateUser({ ...u, first_name: `n${i}` });
    }));
    assert.ok(d.stats().generation > 1, "the journal was rotated by a background compaction");
    await d.close(); // waits for a compaction still writing
    assert.ok(d.stats().compactions >= 1, `compactions: ${d.stats().compactions}`);
    const again = await openOn(dir);
    assert.equal(await again.countUsers(), users.length);
    for (const [i, u] of users.entries()) assert.equal((await again.getUser(u.id))?.first_name, `n${i}`);
    await again.close();
    await removeDir(dir);
  });
});
