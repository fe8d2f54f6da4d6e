// Every exported function and class of src/ has a doc comment (what
// `deno doc src/` shows). Part of `npm run lint`.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const files = (function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
})(join(root, "src"));
const deno = join(root, "node_modules/deno/deno");
const out = execFileSync(deno, ["doc", "--json", ...files], { cwd: root, maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] });
const missing = [];
for (const [url, node] of Object.entries(JSON.parse(String(out)).nodes)) {
  for (const symbol of node.symbols ?? []) {
    for (const d of symbol.declarations ?? []) {
      if (d.declarationKind !== "export" || !["function", "class"].includes(d.kind)) continue;
      if (!d.jsDoc?.doc?.trim()) missing.push(`${relative(root, fileURLToPath(url))}:${d.location.line} ${symbol.name}`);
    }
  }
}
if (missing.length) {
  console.error(`Exported functions and classes without a doc comment:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log(`doc comments: every exported function and class of ${files.length} files has one`);
