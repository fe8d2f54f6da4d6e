/**
 * Lets Node import the TypeScript sources. Node 22.18+ (and 23.6+) runs
 * them as they are: every file is erasable TypeScript, so Node only strips
 * the types. Older Node (20, past its end of life in April 2026) has no type
 * stripping: tsx's loader, a dependency, compiles the files as they load
 * (about 0.4 s more at startup). Deno and Bun run TypeScript themselves.
 */
export async function loadTypeScript() {
  if (process.versions.bun || process.features?.typescript) return;
  const { register } = await import("tsx/esm/api");
  register();
}
