/** Deno entry: `deno task start`. */
import { run } from "./common.ts";

const peerAddress = (c: { env: unknown }) => ((c.env as Deno.ServeHandlerInfo).remoteAddr as Deno.NetAddr).hostname;

await run({ runtime: `deno ${Deno.version.deno}`, denoOpenKv: (path?: string) => Deno.openKv(path), peerAddress }, ({ app, config }, onError) =>
  new Promise((resolve, reject) => {
    try {
      const server = Deno.serve(
        {
          hostname: config.host,
          port: config.port,
          onListen: ({ port }) => resolve({ port, stop: () => server.shutdown() }),
          onError: (e) => {
            onError(e);
            return new Response(JSON.stringify({ error: "Internal server error" }), { status: 500, headers: { "content-type": "application/json" } });
          },
        },
        app.fetch,
      );
    } catch (e) {
      reject(e);
    }
  }),
);
