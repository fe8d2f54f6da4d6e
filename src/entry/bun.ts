/** Bun entry: `bun run start`. */
import { run } from "./common.ts";

await run({ runtime: `bun ${Bun.version}` }, ({ app, config }) => {
  const server = Bun.serve({ fetch: app.fetch, hostname: config.host, port: config.port });
  // stop() without `true` lets in-flight requests finish.
  return Promise.resolve({ port: server.port ?? config.port, stop: () => server.stop() });
});
