import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { AccountRecord } from "../src/domain/accounts.ts";
import { runCli } from "../src/cli/main.ts";
import { createPasswordHasher } from "../src/auth/password.ts";
import { fullAccount } from "./helpers/account-contract.ts";
import { openOn } from "./helpers/file-fixtures.ts";
import { createDatabase, SERVER_URL, type TestDatabase } from "./helpers/postgres.ts";
import { RUNTIME } from "./helpers/server.ts";

/**
 * Verified addresses, outstanding one-time tokens and second factors are
 * part of a user's account: `export`, `import` and `migrate` carry them
 * whole between every storage, so that a move never drops a second factor
 * (a weaker login) nor a verification.
 */

const PW = "correct-Horse-9";

async function cli(env: Record<string, string>, cwd: string, args: string[], input = ""): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword: () => Promise.resolve(input) },
    env: { LOG_LEVEL: "warn", ...env },
    cwd,
    pid: process.pid,
    hasher: createPasswordHasher({ iterations: 1000 }),
  });
  assert.equal(code, 0, `${args.join(" ")}: ${err.join("\n")}`);
  return out.join("\n");
}

/** The account records of the storage `env` names, as `export` writes them. */
async function exported(env: Record<string, string>, root: string): Promise<Record<string, AccountRecord>> {
  const dir = await mkdtemp(join(root, "export-"));
  await cli(env, root, ["export", dir]);
  return JSON.parse(await readFile(join(dir, ".db_UserAccount.json"), "utf8"));
}

describe(`account state travels with the data: export, import, migrate (${RUNTIME})`, () => {
  it("tokens, TOTP, passkeys and the verified flag survive file → export → kv → postgres → file", async () => {
    const root = await mkdtemp(join(tmpdir(), "account-transfer-"));
    let db: TestDatabase | null = null;
    try {
      for (const d of ["data", "empty"]) await mkdir(join(root, d));
      const fileEnv = { STORAGE: "file", DATA_DIR: join(root, "data") };
      const kvEnv = { STORAGE: "kv", KV_PATH: join(root, "auth.kv"), DATA_DIR: join(root, "empty") };
      await cli(fileEnv, root, ["user", "add", "ann@hbtn.io"], PW);
      await cli(fileEnv, root, ["user", "add", "bob@hbtn.io"], PW);
      // Ann's full state, bob's verified flag only: written as the server would, through the store.
      const store = await openOn(join(root, "data"));
      const [ann, bob] = [(await store.findUserByEmail("ann@hbtn.io"))!, (await store.findUserByEmail("bob@hbtn.io"))!];
      await store.putAccount(fullAccount(ann.id));
      await store.updateAccount(bob.id, (cur) => ({ account: { ...cur, email_verified: true }, result: null }));
      const expected = { [ann.id]: await store.getAccount(ann.id), [bob.id]: await store.getAccount(bob.id) };
      await store.close();
      assert.deepEqual(expected[ann.id], fullAccount(ann.id));

      const folder = join(root, "out");
      await cli(fileEnv, root, ["export", folder]);
      assert.deepEqual(JSON.parse(await readFile(join(folder, ".db_UserAccount.json"), "utf8")), expected);
      await cli(kvEnv, root, ["import", folder]);
      assert.deepEqual(await exported(kvEnv, root), expected, "imported into kv");

      let last = kvEnv as Record<string, string>;
      if (SERVER_URL) {
        db = await createDatabase("transfer");
        await cli(kvEnv, root, ["migrate", "--to", "postgres", "--database-url", db.url]);
        last = { STORAGE: "postgres", DATABASE_URL: db.url, DATA_DIR: join(root, "empty") };
        assert.deepEqual(await exported(last, root), expected, "migrated into postgres");
      }
      await cli(last, root, ["migrate", "--to", "file", "--folder", join(root, "copy")]);
      assert.deepEqual(await exported({ STORAGE: "file", DATA_DIR: join(root, "copy") }, root), expected, "migrated into a file folder");
    } finally {
      await db?.drop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
