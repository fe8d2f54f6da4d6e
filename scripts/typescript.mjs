/**
 * Imports a TypeScript entry file on Node (Deno and Bun run TypeScript
 * themselves).
 *
 * - Node 22.18+ and 23.6+ strip the types as they load (every file here is
 *   erasable TypeScript): the entry is imported as it is.
 * - Older Node (20, past its end of life in April 2026) has no type
 *   stripping. tsx's loader could compile the files one by one, but that
 *   costs about 0.4 s at every start; esbuild (a dependency) bundles the
 *   entry into one plain JavaScript file in about 60 ms instead. The bundle
 *   is made anew at each start under a name of its own (two servers starting
 *   at once never load each other's file) and removed once loaded, so it
 *   never runs stale code. Where it cannot be written (a read-only install),
 *   tsx's loader runs the sources.
 */
export async function importTypeScript(entry) {
  if (process.versions.bun || process.features?.typescript) return await import(entry.href);
  // Inside node_modules, so that the bundle's package imports (hono, zod...) resolve.
  const cache = new URL("../node_modules/.cache/session-auth-api/", import.meta.url);
  const out = new URL(`${process.pid}-${Date.now()}.mjs`, cache);
  const { readdirSync, rmSync, statSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  // Bundles of processes killed before they removed theirs.
  try {
    for (const name of readdirSync(cache)) {
      const file = new URL(name, cache);
      if (Date.now() - statSync(file).mtimeMs > 10 * 60_000) rmSync(file, { force: true });
    }
  } catch {
    // no cache folder yet
  }
  let bundled = false;
  try {
    const { build } = await import("esbuild");
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
    bundled = true;
  } catch {
    rmSync(out, { force: true });
  }
  if (!bundled) {
    const { register } = await import("tsx/esm/api");
    register();
    return await import(entry.href);
  }
  try {
    return await import(out.href);
  } finally {
    rmSync(out, { force: true });
  }
}
