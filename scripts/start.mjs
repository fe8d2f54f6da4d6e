// `npm start` and `bun run start` both land here (bunfig.toml makes Bun run
// package.json scripts with itself): start the entry of whichever runtime
// is running this file. (`deno task start` runs src/entry/deno.ts itself.)
import "./runner-env.mjs";
import { loadTypeScript } from "./typescript.mjs";

if (process.versions.bun) await import("../src/entry/bun.ts");
else {
  await loadTypeScript();
  await import("../src/entry/node.ts");
}
