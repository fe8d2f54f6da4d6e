// `npm start` and `bun run start` both land here (bunfig.toml makes Bun run
// package.json scripts with itself): start the entry of whichever runtime
// is running this file.
if (process.versions.bun) {
  await import("../src/entry/bun.ts");
} else {
  // Node 20 cannot run TypeScript by itself: register tsx's loader first.
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/entry/node.ts");
}
