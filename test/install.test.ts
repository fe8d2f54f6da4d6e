import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, RUNTIME, runToEnd, startServer } from "./helpers/server.ts";

/**
 * What a user deploying with `npm ci --omit=dev` gets: no dev dependencies
 * (no Deno, no Bun, no TypeScript compiler), and `npm start` must still
 * serve. Node only: Deno and Bun run the sources without npm's help.
 */
describe("a production install", { skip: RUNTIME !== "node" && "npm start is Node's" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "prod-install-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("npm ci --omit=dev, then npm start serves", { timeout: 180_000 }, async () => {
    for (const f of ["package.json", "package-lock.json", "bunfig.toml", "deno.json", "src", "scripts"]) {
      cpSync(join(ROOT, f), join(dir, f), { recursive: true });
    }
    const install = await runToEnd("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {}, 150_000, undefined, dir);
    assert.equal(install.code, 0, install.stderr);
    // The packages whose install scripts run are declared (allowScripts), so npm 11 has nothing to warn about.
    assert.doesNotMatch(install.stderr + install.stdout, /install-scripts/);
    const s = await startServer({ DATA_DIR: join(dir, "data") }, ["npm", ["start"]], 60_000, dir);
    try {
      const r = await fetch(`${s.url}/api/v1/status`);
      assert.deepEqual(await r.json(), { status: "OK" });
      // The pages' files, swagger-ui-dist's included, come with a production install.
      for (const page of ["/", "/assets/sign-in.js", "/api/v1/docs", "/api/v1/docs/swagger-ui-bundle.js"]) {
        assert.equal((await fetch(`${s.url}${page}`)).status, 200, page);
      }
      const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
      assert.match(s.output(), new RegExp(`, v${version.replaceAll(".", "\\.")}, `));
      assert.equal(((await (await fetch(`${s.url}/api/v1/openapi.json`)).json()) as { info: { version: string } }).info.version, version);
    } finally {
      assert.equal(await s.stop("SIGTERM"), 0);
    }
  });

  it("npm test says that the development dependencies are missing", { timeout: 60_000 }, async () => {
    mkdirSync(join(dir, "test"), { recursive: true });
    const r = await runToEnd("npm", ["test"], {}, 50_000, undefined, dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /needs the development dependencies \(deno, bun not installed.*run `npm ci` without --omit=dev/);
    assert.doesNotMatch(r.stdout + r.stderr, /FAILED \(exit/);
  });
});
