// `npm start` and `bun run start` both land here (bunfig.toml makes Bun run
// package.json scripts with itself): start the entry of whichever runtime
// is running this file. (`deno task start` runs src/entry/deno.ts itself.)
import "./runner-env.mjs";
import { importTypeScript } from "./typescript.mjs";

await importTypeScript(new URL(process.versions.bun ? "../src/entry/bun.ts" : "../src/entry/node.ts", import.meta.url));
