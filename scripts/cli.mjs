// `npm run cli -- ...` and `bun run cli ...` land here (see start.mjs).
import "./runner-env.mjs";
import { importTypeScript } from "./typescript.mjs";

await importTypeScript(new URL("../src/entry/cli.ts", import.meta.url));
