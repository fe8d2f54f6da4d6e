import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { installRoot, packageInfo } from "../src/app/package-files.ts";
import { parseArgs, UsageError } from "../src/cli/args.ts";
import { ROOT } from "./helpers/server.ts";

/**
 * The service knows its version from its package.json, wherever it runs
 * from: the sources in place, or Node 20's bundle of them in
 * node_modules/.cache (the real `--version` and startup line are tested in
 * cli.test.ts, e2e.test.ts and install.test.ts).
 */

const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };

describe("the version", () => {
  it("comes from package.json", () => {
    assert.deepEqual(packageInfo(), { name: PKG.name, version: PKG.version });
    assert.equal(installRoot().href, pathToFileURL(ROOT + "/").href);
  });

  it("is found from the sources and from Node 20's bundle of them", () => {
    assert.equal(installRoot("file:///srv/api/src/app/package-files.ts").href, "file:///srv/api/");
    assert.equal(installRoot("file:///srv/api/node_modules/.cache/session-auth-api/4242-1733000000000.mjs").href, "file:///srv/api/");
  });

  it("--version is a command of its own", () => {
    assert.deepEqual(parseArgs(["--version"]), { name: "version" });
    assert.deepEqual(parseArgs(["version"]), { name: "version" });
    assert.throws(() => parseArgs(["--version", "extra"]), UsageError);
  });
});
