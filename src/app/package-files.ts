import { readFileSync } from "node:fs";

/**
 * The service's own files, found where it is installed: its package.json
 * (name and version). Read with node:fs relative to this module, so it
 * works the same on Deno, Bun and Node, from a checkout or from a
 * production install (`npm ci --omit=dev`).
 */

/** Where Node 20's esbuild bundle of the sources is written (scripts/typescript.mjs). */
const BUNDLE_DIR = "/node_modules/.cache/session-auth-api/";

/**
 * The folder holding package.json. Deno, Bun and Node 22.18+ run this file
 * where it is, two folders below; Node 20 runs it from a bundle in
 * node_modules/.cache/session-auth-api/, whose project is the folder above
 * node_modules.
 */
export function installRoot(moduleUrl: string = import.meta.url): URL {
  const bundled = moduleUrl.lastIndexOf(BUNDLE_DIR);
  return bundled >= 0 ? new URL(moduleUrl.slice(0, bundled + 1)) : new URL("../../", moduleUrl);
}

/** The name and version of the installed package. */
export type PackageInfo = { name: string; version: string };

let info: PackageInfo | null = null;

/** The package's name and version, from its package.json (read once). */
export function packageInfo(): PackageInfo {
  if (!info) {
    const pkg = JSON.parse(readFileSync(new URL("package.json", installRoot()), "utf8")) as Partial<PackageInfo>;
    info = { name: String(pkg.name ?? "session-auth-api"), version: String(pkg.version ?? "0.0.0") };
  }
  return info;
}
