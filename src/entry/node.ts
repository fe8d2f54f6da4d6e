/** Node entry: `npm start` (through tsx on Node 20). */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { run } from "./common.ts";

type NodeBindings = { incoming?: { socket?: { remoteAddress?: string } } };
const peerAddress = (c: { env: unknown }) => (c.env as NodeBindings).incoming?.socket?.remoteAddress;

await run({ runtime: `node ${process.version}`, peerAddress }, ({ app, config }, onError) =>
  new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) =>
      resolve({
        port: info.port,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections with no request in flight would hold close() open.
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      }),
    );
    server.once("error", reject);
    server.on("error", onError);
  }),
);
