// `npm start` and `bun run start` both land here (bunfig.toml makes Bun run
// package.json scripts with itself): start the entry of whichever runtime
// is running this file.
import "./runner-env.mjs";

if (process.versions.bun) {
  await import("../src/entry/bun.ts");
} else {
  const { href, cleanup } = await nodeEntry();
  try {
    await import(href);
  } finally {
    cleanup();
  }
}

/**
 * Node 20 cannot run TypeScript by itself. tsx's loader can, but it
 * compiles module by module through a loader thread at every start (about
 * 0.4 s here); esbuild (which tsx brings) bundles the whole server into one
 * file in about 60 ms, which Node then loads directly. The bundle is made
 * anew at each start, under a name of its own (two servers starting at once
 * never load each other's half-written file) and removed once loaded, so it
 * never runs stale code; if bundling fails for any reason, tsx runs the
 * sources instead.
 */
async function nodeEntry() {
  const entry = new URL("../src/entry/node.ts", import.meta.url);
  // Inside node_modules so the bundle's package imports (hono, zod, ...) resolve.
  const out = new URL(`../node_modules/.cache/session-auth-api/node-${process.pid}.mjs`, import.meta.url);
  const { rmSync } = await import("node:fs");
  const cleanup = () => rmSync(out, { force: true });
  try {
    const { build } = await import("esbuild");
    const { fileURLToPath } = await import("node:url");
    await build({
      entryPoints: [fileURLToPath(entry)],
      outfile: fileURLToPath(out),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "silent",
    });
    return { href: out.href, cleanup };
  } catch {
    cleanup();
    const { register } = await import("tsx/esm/api");
    register();
    return { href: entry.href, cleanup: () => {} };
  }
}
