/** Node entry: `npm start` (scripts/start.mjs). */
import process from "node:process";
import { peerAddress, serveNodeHttp } from "./node-http.ts";
import { run } from "./serve.ts";

await run({ runtime: `node ${process.version}`, peerAddress }, ({ app, config }, log) => serveNodeHttp(app.fetch, config, log));
