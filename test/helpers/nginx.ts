import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Debian's nginx, run by a test as an unprivileged child on a free loopback
 * port, with a generated main configuration around one of deploy/'s site
 * files: everything (pid, logs, temp folders) in a scratch folder.
 */

export const NGINX = "/usr/sbin/nginx";

/** Why nginx tests cannot run here, or false. */
export const nginxMissing = (): string | false => (existsSync(NGINX) ? false : "needs nginx: apt-get install -y nginx");

/**
 * The smallest main configuration around a site file, everything in `dir`.
 * `proxy_bind` makes nginx reach the upstreams from 127.0.0.2, so an
 * instance that logged its TCP peer instead of X-Forwarded-For would show.
 */
function mainConf(dir: string): string {
  const at = (name: string) => join(dir, name);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${at("nginx.pid")};
error_log ${at("error.log")} warn;
events { worker_connections 256; }
http {
  access_log ${at("access.log")};
  client_body_temp_path ${at("body")};
  proxy_temp_path ${at("proxy")};
  fastcgi_temp_path ${at("fastcgi")};
  uwsgi_temp_path ${at("uwsgi")};
  scgi_temp_path ${at("scgi")};
  proxy_bind 127.0.0.2;
  include ${at("site.conf")};
}
`;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export const accepting = (port: number): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

export type Nginx = { proc: ChildProcess; dir: string; errorLog: () => string };

/**
 * Writes `site` (a rendered site file listening on 127.0.0.1:`port`) with
 * its main configuration into a fresh folder under `parent` (default: the
 * OS temp folder; the caller removes it) and starts nginx on it. Resolves
 * once `ready` says so: by default, once the port accepts connections.
 */
export async function startNginx(
  site: string,
  port: number,
  { parent = tmpdir(), ready = () => accepting(port) }: { parent?: string; ready?: () => Promise<boolean> } = {},
): Promise<Nginx> {
  const dir = mkdtempSync(join(parent, "nginx-"));
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, "site.conf"), site);
  writeFileSync(join(dir, "nginx.conf"), mainConf(dir));
  const errorLog = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
  const proc = spawn(NGINX, ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`nginx exited (${code}): ${errorLog()}`))));
  exited.catch(() => {});
  const deadline = Date.now() + 15_000;
  const answering = (async () => {
    while (Date.now() < deadline) {
      if (await ready()) return { proc, dir, errorLog };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("nginx did not answer within 15 s");
  })();
  return await Promise.race([answering, exited]);
}
