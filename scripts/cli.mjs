// `npm run cli -- ...` and `bun run cli ...` land here (see start.mjs).
import "./runner-env.mjs";
if (!process.versions.bun) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("../src/entry/cli.ts");
