import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The service's own files, found where it is installed: its package.json
 * (name and version) and the files its pages are made of (src/http/pages/,
 * and packages of node_modules such as swagger-ui-dist). Read with node:fs
 * relative to this module, so it works the same on Deno, Bun and Node, from
 * a checkout or from a production install (`npm ci --omit=dev`).
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

/** A file to read: from this package (a path from its root), or from a package it depends on. */
export type FileSource = { from: "self"; path: string } | { from: "package"; name: string; path: string };

/**
 * Reads a file of this package or of a dependency. A dependency is found as
 * Node finds packages, from the project's root, so npm's layout of
 * node_modules does not matter.
 */
export function readPackageFile(source: FileSource): Uint8Array<ArrayBuffer> {
  const root = installRoot();
  const base = source.from === "self" ? root : packageRoot(root, source.name);
  return new Uint8Array(readFileSync(new URL(source.path, base)));
}

/** A dependency's folder (its package.json's URL, to resolve paths against), found from the project's root. */
function packageRoot(root: URL, name: string): URL {
  const require = createRequire(fileURLToPath(new URL("package.json", root)));
  try {
    return pathToFileURL(require.resolve(`${name}/package.json`));
  } catch {
    // A package whose `exports` hides its package.json (qrcode-generator): its folder is the one that holds its main file.
    const main = require.resolve(name);
    const folder = `${sep}node_modules${sep}${name}${sep}`;
    return pathToFileURL(main.slice(0, main.lastIndexOf(folder) + folder.length));
  }
}
