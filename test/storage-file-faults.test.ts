import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as nodeFs from "node:fs/promises";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { StartupError, StorageUnavailableError } from "../src/domain/errors.ts";
import { decodeJournal } from "../src/storage/file/journal-format.ts";
import { makeSession, makeUser } from "./helpers/driver-contract.ts";
import { type Faults, faultyFs, openOn, removeDir, tempDir } from "./helpers/file-fixtures.ts";

const JOURNAL = ".db_journal.1.jsonl";
const isStorageUnavailable = (e: unknown) => e instanceof StorageUnavailableError;

describe("file driver: the data folder", () => {
  it("refuses a folder that does not exist, naming it, without creating it", async () => {
    const dir = join(await tempDir(), "missing");
    await assert.rejects(openOn(dir), (e: Error) => e instanceof StartupError && e.message.includes(`${dir} does not exist`));
    await assert.rejects(readdir(dir), { code: "ENOENT" });
    await removeDir(join(dir, ".."));
  });

  it("refuses a folder it cannot write", async () => {
    const dir = await tempDir();
    const readOnly = {
      ...nodeFs,
      open: ((path: string, flags?: string) => {
        if (flags !== undefined && flags !== "r") {
          return Promise.reject(Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" }));
        }
        return nodeFs.open(path, flags);
      }) as typeof nodeFs.open,
    };
    await assert.rejects(
      openOn(dir, { fs: readOnly }),
      (e: Error) => e instanceof StartupError && e.message.includes(`${dir} is not writable (EROFS)`),
    );
    await removeDir(dir);
  });
});

describe("file driver: durability", () => {
  async function journalIsClean(dir: string): Promise<void> {
    const bytes = new Uint8Array(await readFile(join(dir, JOURNAL)));
    decodeJournal(bytes, JOURNAL, false); // throws on any damaged line, last one included
  }

  for (
    const [what, faults] of [
      ["a write cut short (disk full)", { write: true, partial: true }],
      ["a failed fdatasync (EIO)", { sync: true }],
      ["a failed write whose clean-up fails too, until the disk recovers", { write: true, partial: true, truncate: true }],
    ] as [string, Faults][]
  ) {
    it(`${what}: the commit fails with StorageUnavailableError, is rolled back, and reads keep working`, async () => {
      const dir = await tempDir();
      const live: Faults = {};
      const d = await openOn(dir, { fs: faultyFs(live) });
      const kept = makeUser({ first_name: "kept" });
      await d.createUser(kept);
      Object.assign(live, faults);
      const lost = makeUser();
      const results = await Promise.allSettled([
        d.createUser(lost),
        d.updateUser({ ...kept, first_name: "changed" }),
        d.createSession(makeSession(kept.id), null),
      ]);
      for (const r of results) assert.ok(r.status === "rejected" && isStorageUnavailable(r.reason), String(r.status));
      assert.equal(await d.getUser(lost.id), null);
      assert.equal(await d.findUserByEmail(lost.email!), null);
      assert.deepEqual(await d.getUser(kept.id), kept);
      assert.deepEqual((await d.listUsers()).map((u) => u.id), [kept.id]);
      // While the clean-up cannot run, writes keep failing rather than landing after a torn line.
      if (faults.truncate) {
        live.write = false;
        await assert.rejects(d.createUser(makeUser()), StorageUnavailableError);
      }
      for (const k of Object.keys(live)) delete live[k as keyof Faults];
      const later = makeUser();
      await d.createUser(later);
      await journalIsClean(dir);
      await d.close();
      const again = await openOn(dir);
      assert.deepEqual((await again.listUsers()).map((u) => u.id), [kept.id, later.id]);
      assert.deepEqual(await again.getUser(kept.id), kept);
      await again.close();
      await removeDir(dir);
    });
  }

  it("an import is one journal line: a full disk midway leaves the store as it was", async () => {
    const dir = await tempDir();
    const live: Faults = {};
    const d = await openOn(dir, { fs: faultyFs(live) });
    const kept = makeUser();
    await d.createUser(kept);
    live.write = true;
    live.partial = true;
    const users = Array.from({ length: 2000 }, () => makeUser());
    await assert.rejects(d.importRecords(users, [makeSession(users[0].id)], { source: "/old" }), StorageUnavailableError);
    assert.deepEqual((await d.listUsers()).map((u) => u.id), [kept.id]);
    delete live.write;
    delete live.partial;
    await d.close();
    const again = await openOn(dir);
    assert.deepEqual((await again.listUsers()).map((u) => u.id), [kept.id]);
    assert.deepEqual(await again.listSessions(), []);
    await again.close();
    await removeDir(dir);
  });

  it("groups concurrent commits: 100 concurrent creates take a handful of fsyncs", async () => {
    const dir = await tempDir();
    const fs = faultyFs({});
    const d = await openOn(dir, { fs });
    const before = d.stats().fsyncs;
    const users = Array.from({ length: 100 }, () => makeUser());
    await Promise.all(users.map((u) => d.createUser(u)));
    const fsyncs = d.stats().fsyncs - before;
    assert.ok(fsyncs <= 5, `${fsyncs} fsyncs`);
    assert.equal(fs.fsyncs, d.stats().fsyncs);
    assert.equal(d.stats().batches, 100);
    await d.close();
    const again = await openOn(dir);
    assert.equal(await again.countUsers(), 100);
    await again.close();
    await removeDir(dir);
  });
});
