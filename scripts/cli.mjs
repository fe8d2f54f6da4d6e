// `npm run cli -- ...` and `bun run cli ...` land here (see start.mjs).
import "./runner-env.mjs";
import { loadTypeScript } from "./typescript.mjs";

await loadTypeScript();
await import("../src/entry/cli.ts");
