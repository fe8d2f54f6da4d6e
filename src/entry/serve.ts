import process from "node:process";
import { boot, type Booted, type BootOptions } from "../app/boot.ts";
import { StartupError } from "../domain/errors.ts";
import { collectGarbage, invocationDir, usableCores } from "./process.ts";
import { createLogSink } from "./log-sink.ts";
import { createScheduler } from "./scheduler.ts";
import { useNodeCryptoSha256 } from "./native-hash.ts";
import { logTransport, smtpTransport } from "./smtp.ts";

/** A running HTTP server as an entry file sees it. */
export type Served = {
  port: number;
  /** The connection cap in force (0: none), for the startup log. */
  maxConnections: number;
  /** Stops accepting and resolves once in-flight requests are answered. */
  stop: () => Promise<void>;
};
/** Starts serving the booted app; `log` takes lines about the server itself (refused connections, accept errors). */
export type Serve = (b: Booted, log: (line: string) => void) => Promise<Served>;

const SHUTDOWN_GRACE_MS = 10_000;
const MAIL_DRAIN_MS = 5_000;

/**
 * The part every entry file shares: boot, serve, log one "listening" line,
 * and on SIGINT/SIGTERM stop accepting, let in-flight requests finish
 * (bounded), flush and close the storage, exit 0. A startup problem prints
 * one line and exits 1 before anything is bound.
 */
export async function run(o: Omit<BootOptions, "writeLog" | "pid" | "env" | "cwd" | "cores" | "schedule">, serve: Serve): Promise<void> {
  // A log reader that goes away (a closed pipe) must not crash the server
  // mid-request or mid-shutdown: log lines are then dropped.
  process.stderr.on("error", () => {});
  useNodeCryptoSha256();
  const sink = createLogSink((text) => process.stderr.write(text));
  const writeLog = sink.line;
  const exit: (code: number) => never = (code) => {
    sink.flush();
    return process.exit(code);
  };
  // Signals are handled from the first moment: before the server runs they
  // end the process at once (an import then resumes at the next start);
  // once it serves, they stop it cleanly. (Installing them early also keeps
  // Deno from setting up its signal handling lazily, which panics if
  // descriptors are exhausted by then.)
  let onSignal: (signal: "SIGINT" | "SIGTERM") => void = (signal) => exit(signal === "SIGINT" ? 130 : 143);
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  let booted: Booted;
  const scheduler = createScheduler((name, e) => booted?.log.warn(`${name} failed: ${e instanceof Error ? e.message : String(e)}`));
  try {
    booted = await boot({
      ...o,
      env: process.env,
      cwd: invocationDir(),
      pid: process.pid,
      writeLog,
      cores: usableCores(),
      schedule: scheduler.schedule,
      mailTransport: (url, log) => (url === "log:" ? { transport: logTransport(log), close: () => {} } : smtpTransport(url)),
    });
  } catch (e) {
    if (e instanceof StartupError) {
      sink.flush();
      process.stderr.write(`error: ${e.message}\n`);
      exit(1);
    }
    throw e;
  }
  const { app, config, driver, log, version, mail } = booted;
  /** Emails still queued get a bounded wait at a stop (a mail server down must not hold the stop up for long). */
  const drainMail = async () => {
    if (!mail) return;
    await app.drainMail(MAIL_DRAIN_MS);
    const left = app.pendingMail();
    if (left) log.warn(`${left} email(s) not sent within ${MAIL_DRAIN_MS} ms of the stop: given up`);
    mail.close();
  };
  let served: Served;
  try {
    served = await serve(booted, (line) => log.warn(line));
  } catch (e) {
    await driver.close();
    sink.flush();
    process.stderr.write(`error: Cannot listen on ${config.host}:${config.port}: ${(e as Error).message}\n`);
    exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    const timer = setTimeout(() => {
      log.warn(`in-flight requests still running after ${SHUTDOWN_GRACE_MS} ms; closing anyway`);
      scheduler.drain().finally(() => driver.close().finally(() => exit(0)));
    }, SHUTDOWN_GRACE_MS);
    try {
      await served.stop();
      await drainMail();
      await scheduler.drain();
      await driver.close();
      log.info("stopped");
      clearTimeout(timer);
      exit(0);
    } catch (e) {
      log.error("shutdown failed", e);
      exit(1);
    }
  };
  onSignal = (signal) => void shutdown(signal);

  const shown = config.host.includes(":") ? `[${config.host}]` : config.host;
  const users = await driver.countUsers().then((n) => `${n} user${n === 1 ? "" : "s"}`, () => "users not counted");
  const auth = config.auth.type === null ? "AUTH_TYPE unset (no authentication)" : `AUTH_TYPE=${config.auth.type}`;
  log.info(
    `listening on http://${shown}:${served.port} (${o.runtime}, pid ${process.pid}, v${version}, ${auth}, STORAGE=${driver.kind} at ${driver.location}, ${users})`,
  );
  log.debug(
    `connections: at most ${served.maxConnections || "unlimited"}, request head within ${config.headersTimeout} s, ` +
      `answer within ${config.requestTimeout || "unlimited"} s, idle keep-alive ${config.keepAliveTimeout} s`,
  );
  // Scripts wait for the listening line: out at once, not with the next batch.
  sink.flush();
  // What loading left behind is released right after the start (a pause of
  // 10-100 ms with 100k users), not whenever the heap next fills up.
  setTimeout(() => {
    const started = performance.now();
    if (collectGarbage()) log.debug(`released the memory of loading in ${(performance.now() - started).toFixed(0)} ms`);
  }, 0);
}
