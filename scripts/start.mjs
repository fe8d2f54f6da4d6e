// `npm start` and `bun run start` both land here (bunfig.toml makes Bun run
// package.json scripts with itself): start the entry of whichever runtime
// is running this file. (`deno task start` runs src/entry/deno.ts itself.)
import "./runner-env.mjs";
import { importTypeScript } from "./typescript.mjs";

// npm runs a script through `sh -c` and does not pass a SIGTERM or SIGHUP
// on to it: a process manager that signals the PID it started (npm's)
// would end npm and the shell and leave this server running, adopted by
// init. Under a package manager, the server stops as if signalled itself
// once the process that started it is gone. Run directly (`node
// scripts/start.mjs`, nohup, systemd), it keeps running: no launcher to
// outlive.
if (process.env.npm_lifecycle_event) {
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, "SIGTERM");
  }, 200).unref();
}

await importTypeScript(new URL(process.versions.bun ? "../src/entry/bun.ts" : "../src/entry/node.ts", import.meta.url));
