import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { sep } from "node:path";
import process from "node:process";
import { BOB, writeOriginalDataFolder } from "./helpers/seed-folder.ts";
import { ROOT, RUNTIME, runToEnd, startServer, tsCommand } from "./helpers/server.ts";

/**
 * Tests never read or write the data of whoever runs them. `npm test` runs
 * in a checkout, and the README's walkthrough leaves the user's own
 * `.db_User.json` there: a test server or CLI that took the checkout (or
 * the folder npm names in INIT_CWD) as its folder would import that user.
 * Here the test process itself stands in a folder holding such a decoy.
 */
describe("test processes never use the folder they are run from", () => {
  const decoy = writeOriginalDataFolder();
  const home = process.cwd();
  const initCwd = process.env.INIT_CWD;
  const TEMP = realpathSync(tmpdir());
  const underTemp = (path: string) => realpathSync(path).startsWith(TEMP + sep);

  before(() => {
    process.chdir(decoy);
    process.env.INIT_CWD = decoy;
  });
  after(() => {
    process.chdir(home);
    if (initCwd === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = initCwd;
    rmSync(decoy, { recursive: true, force: true });
  });

  it("a server started by the helper stands in a scratch folder of its own and does not take in the decoy's user", async () => {
    // KV_PATH relative and no DATA_DIR: the two paths a server would resolve against the folder it was run from.
    const s = await startServer({ STORAGE: "kv", KV_PATH: "auth.kv" });
    try {
      const users = (await (await fetch(`${s.url}/api/v1/users`)).json()) as { email: string }[];
      assert.deepEqual(users, []);
      const at = /STORAGE=kv at ([^,]+),/.exec(s.output());
      assert.ok(at, s.output());
      assert.ok(underTemp(at[1]), `${at[1]} is not under ${TEMP}`);
      assert.ok(!at[1].startsWith(decoy) && !at[1].startsWith(ROOT), at[1]);
      const pid = Number(/, pid (\d+),/.exec(s.output())![1]);
      if (process.platform === "linux") {
        const cwd = realpathSync(`/proc/${pid}/cwd`);
        assert.ok(underTemp(cwd) && cwd !== realpathSync(decoy), cwd);
        const env = new Map(
          readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").map((
            kv,
          ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
        );
        for (const name of ["INIT_CWD", "DATA_DIR"]) {
          assert.ok(underTemp(env.get(name)!), `${name}=${env.get(name)}`);
          assert.notEqual(realpathSync(env.get(name)!), realpathSync(decoy), name);
        }
      }
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it("a CLI run by the helper lists no user from the decoy", { timeout: 60_000 }, async () => {
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const r = await runToEnd(bin, [...args, "user", "list"], { STORAGE: "kv", KV_PATH: "auth.kv" }, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(BOB.email));
  });

  it(`the decoy is a user's data a server run there would take in (${RUNTIME})`, async () => {
    // The check above can fail: the same start, in the decoy's folder, imports its user.
    const s = await startServer({ STORAGE: "kv", KV_PATH: ":memory:", DATA_DIR: "." }, undefined, 30_000, decoy);
    try {
      const users = (await (await fetch(`${s.url}/api/v1/users`)).json()) as { email: string }[];
      assert.ok(users.some((u) => u.email === BOB.email), JSON.stringify(users));
    } finally {
      await s.stop();
    }
  });
});
