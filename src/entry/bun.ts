/// <reference types="bun-types" />
/** Bun entry: `bun run start`. */
import { run } from "./common.ts";

type BunServer = { requestIP(req: Request): { address: string } | null };
const peerAddress = (c: { env: unknown; req: { raw: Request } }) => (c.env as BunServer).requestIP(c.req.raw)?.address;

await run({ runtime: `bun ${Bun.version}`, peerAddress }, ({ app, config }) => {
  // The server is passed as the app's env so that peerAddress can ask it.
  const server = Bun.serve({ fetch: (req, srv) => app.fetch(req, srv), hostname: config.host, port: config.port });
  // stop() without `true` lets in-flight requests finish.
  return Promise.resolve({ port: server.port ?? config.port, stop: () => server.stop() });
});
