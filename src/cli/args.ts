import { cliStorageKinds, orList, type StorageName } from "../storage/registry.ts";

/**
 * Command-line grammar of the CLI: turns argv into one `Command`, or throws
 * `UsageError` (the caller prints it with the usage text and exits 2).
 * Passwords never come from argv: a value typed there ends up in shell
 * history and in every other user's `ps` output.
 */

/** What the user asked for, fully parsed. */
export type Command =
  | { name: "help" }
  | { name: "version" }
  | { name: "user-add"; email: string; firstName: string | null; lastName: string | null; admin: boolean }
  | { name: "user-admin"; who: string; revoke: boolean }
  | { name: "user-list"; json: boolean }
  | { name: "user-passwd"; who: string }
  | { name: "user-delete"; who: string }
  | { name: "user-unlock"; email: string }
  | { name: "user-factors"; who: string }
  | { name: "user-reset-factors"; who: string }
  | { name: "user-verify"; who: string }
  | { name: "user-reset-link"; who: string }
  | { name: "sessions-list"; who: string; json: boolean }
  | { name: "sessions-end"; who: string; session: string | null }
  | { name: "import"; folder: string }
  | { name: "import-abort" }
  | { name: "export"; folder: string; force: boolean }
  | { name: "migrate"; to: MigrateTarget };

/**
 * Where `migrate` copies the configured storage to: a storage the CLI can
 * use, and the value of the flag naming its place, under the flag's name in
 * camel case (`--kv-path a.kv`: `{ storage: "kv", kvPath: "a.kv" }`).
 */
export type MigrateTarget = { storage: StorageName; [place: string]: string };

/** `kv-path` → `kvPath`: the field of `MigrateTarget` that holds the flag's value. */
export const placeField = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Bad arguments: the message names what is wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const CLI_KINDS = cliStorageKinds();
const CLI_NAMES = orList(CLI_KINDS.map((k) => k.name));

/** The help text, also printed (to stderr) after a usage error. */
export const USAGE = `Usage: cli <command> [options]

Commands:
  user add <email> [--first-name X] [--last-name Y] [--admin]
                          create a user; the password is read from stdin
                          (first line) or prompted twice without echo;
                          --admin: grant it admin rights (see user admin)
  user admin <email|id> [--revoke]
                          grant the user admin rights under
                          ACCESS_POLICY=self, for its present address,
                          which must also be in ADMIN_EMAILS (an address
                          merely signed up with through the API grants
                          nothing); --revoke: take them back
  user list [--json]      one line per user: id, email, first name,
                          last name, created_at (tab-separated); --json:
                          one JSON object per line
  user passwd <email|id>  set a new password (read like "user add")
  user delete <email|id>  delete a user and its sessions
  user unlock <email>     clear the account's failed-login counters (kv and
                          postgres storage, where the counters are stored)
  user factors <email|id> the user's second factors: TOTP on or off,
                          recovery codes left, passkeys by name
  user reset-factors <email|id>
                          remove the user's TOTP and passkeys (a user who
                          lost them): the password alone logs in again
  user verify <email|id>  mark the user's email address verified
  user reset-link <email|id>
                          print a password reset link (needs PUBLIC_URL)
                          to hand to the user; nothing is emailed
  sessions list <email|id> [--json]
                          the user's live sessions kept in the storage
                          (session_db_auth): id, created_at, last_seen_at,
                          client address, user agent
  sessions end <email|id> (<session-id> | --all)
                          end one of the user's stored sessions, or all
  import <folder>         import the original's .db_User.json and
                          .db_UserSession.json, all or nothing (ids,
                          timestamps and password hashes kept; existing
                          ids and emails already taken are skipped)
  import --abort          remove what an import that was stopped before
                          it finished added (instead of completing it)
  export <folder> [--force]
                          write the storage to <folder>/.db_User.json and
                          .db_UserSession.json in the original's format
                          (--force: overwrite existing files)
${
  CLI_KINDS.map((k) => `  migrate --to ${k.name} --${k.cli.flag} <${k.cli.value}>\n`).join("")
}                          copy every user and session of the configured
                          storage into another one, all or nothing; the
                          target must be empty or hold only part of this
                          storage (then what is missing is added). The URL
                          takes no password (argv is visible to every user
                          of the machine): set PGPASSWORD instead
  help, --help            this text
  --version               the package's name and version

The storage is the server's: STORAGE (${CLI_NAMES}), DATA_DIR,
KV_PATH, KV_URL, DATABASE_URL, PASSWORD_MIN_LENGTH; relative paths are
taken from the folder the command runs in. With STORAGE=file and a server
running on the folder, "user list", "sessions list" and "export" read a
consistent copy; changes need the server stopped (or go through the API).
Exit status: 0 done, 1 failed, 2 bad arguments.`;

type Spec = {
  positionals: string[];
  /** Flag name -> true when it takes a value. */
  flags: Record<string, boolean>;
};

type Parsed = { positionals: string[]; flags: Map<string, string | true> };

/** Splits args against a spec: `--flag value`, `--flag=value`, and `--` ending the options. */
function parseWith(args: string[], spec: Spec, what: string): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (optionsDone || !a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    if (a === "--") {
      optionsDone = true;
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    // Short options are not part of the grammar; a value starting with "-" goes after "--".
    if (!a.startsWith("--") || !Object.hasOwn(spec.flags, name)) {
      throw new UsageError(`unknown option ${eq === -1 ? a : a.slice(0, eq)} for "${what}"`);
    }
    if (!spec.flags[name]) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (eq !== -1) flags.set(name, a.slice(eq + 1));
    else if (i + 1 < args.length) flags.set(name, args[++i]);
    else throw new UsageError(`--${name} needs a value`);
  }
  if (positionals.length < spec.positionals.length) {
    throw new UsageError(`"${what}" needs ${spec.positionals.slice(positionals.length).map((p) => `<${p}>`).join(" ")}`);
  }
  if (positionals.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument "${positionals[spec.positionals.length]}" for "${what}"`);
  }
  for (const [i, p] of positionals.entries()) {
    if (p === "") throw new UsageError(`<${spec.positionals[i]}> of "${what}" is empty`);
  }
  return { positionals, flags };
}

const str = (v: string | true | undefined): string | null => (typeof v === "string" ? v : null);

/**
 * Parses the arguments after the program name.
 *
 * @example parseArgs(["user", "add", "bob@hbtn.io", "--first-name", "Bob"])
 */
export function parseArgs(argv: string[]): Command {
  // Help wins wherever it appears before `--`, so "user add --help" helps.
  const end = argv.indexOf("--");
  const head = end === -1 ? argv : argv.slice(0, end);
  if (argv.length === 0) throw new UsageError("no command given");
  if (head.includes("--help") || head.includes("-h") || argv[0] === "help") return { name: "help" };
  if (argv[0] === "--version" || argv[0] === "version") {
    if (argv.length > 1) throw new UsageError(`unexpected argument "${argv[1]}" for "--version"`);
    return { name: "version" };
  }

  const [cmd, ...rest] = argv;
  if (cmd === "import") {
    if (rest.length === 1 && rest[0] === "--abort") return { name: "import-abort" };
    return { name: "import", folder: parseWith(rest, { positionals: ["folder"], flags: {} }, "import").positionals[0] };
  }
  if (cmd === "export") {
    const p = parseWith(rest, { positionals: ["folder"], flags: { force: false } }, "export");
    return { name: "export", folder: p.positionals[0], force: p.flags.has("force") };
  }
  if (cmd === "sessions") return parseSessions(rest);
  if (cmd === "migrate") return { name: "migrate", to: migrateTarget(rest) };
  if (cmd !== "user") throw new UsageError(`unknown command "${cmd}"`);

  const [sub, ...args] = rest;
  switch (sub) {
    case "add": {
      const p = parseWith(args, { positionals: ["email"], flags: { "first-name": true, "last-name": true, admin: false } }, "user add");
      return {
        name: "user-add",
        email: p.positionals[0],
        firstName: str(p.flags.get("first-name")),
        lastName: str(p.flags.get("last-name")),
        admin: p.flags.has("admin"),
      };
    }
    case "admin": {
      const p = parseWith(args, { positionals: ["email|id"], flags: { revoke: false } }, "user admin");
      return { name: "user-admin", who: p.positionals[0], revoke: p.flags.has("revoke") };
    }
    case "list":
      return { name: "user-list", json: parseWith(args, { positionals: [], flags: { json: false } }, "user list").flags.has("json") };
    case "passwd":
      return { name: "user-passwd", who: parseWith(args, { positionals: ["email|id"], flags: {} }, "user passwd").positionals[0] };
    case "delete":
      return { name: "user-delete", who: parseWith(args, { positionals: ["email|id"], flags: {} }, "user delete").positionals[0] };
    case "unlock":
      return { name: "user-unlock", email: parseWith(args, { positionals: ["email"], flags: {} }, "user unlock").positionals[0] };
    case "factors":
      return { name: "user-factors", who: parseWith(args, { positionals: ["email|id"], flags: {} }, "user factors").positionals[0] };
    case "reset-factors": {
      const p = parseWith(args, { positionals: ["email|id"], flags: {} }, "user reset-factors");
      return { name: "user-reset-factors", who: p.positionals[0] };
    }
    case "verify":
      return { name: "user-verify", who: parseWith(args, { positionals: ["email|id"], flags: {} }, "user verify").positionals[0] };
    case "reset-link":
      return { name: "user-reset-link", who: parseWith(args, { positionals: ["email|id"], flags: {} }, "user reset-link").positionals[0] };
    case undefined:
      throw new UsageError(
        `"user" needs a subcommand: add, admin, list, passwd, delete, unlock, verify, reset-link, factors or reset-factors`,
      );
    default:
      throw new UsageError(`unknown command "user ${sub}"`);
  }
}

/** `sessions list <who> [--json]`, `sessions end <who> (<session-id> | --all)`. */
function parseSessions([sub, ...args]: string[]): Command {
  switch (sub) {
    case "list": {
      const p = parseWith(args, { positionals: ["email|id"], flags: { json: false } }, "sessions list");
      return { name: "sessions-list", who: p.positionals[0], json: p.flags.has("json") };
    }
    case "end": {
      const all = args.includes("--all");
      // Ending every session is a flag of its own, so that a forgotten id never ends them all: say how.
      if (!all && args.filter((a) => !a.startsWith("--")).length === 1) {
        throw new UsageError(
          `"sessions end" needs <session-id> (see "sessions list ${args[0]}") or --all to end every session of the user`,
        );
      }
      const p = parseWith(args, { positionals: all ? ["email|id"] : ["email|id", "session-id"], flags: { all: false } }, "sessions end");
      return { name: "sessions-end", who: p.positionals[0], session: all ? null : p.positionals[1] };
    }
    case undefined:
      throw new UsageError(`"sessions" needs a subcommand: list or end`);
    default:
      throw new UsageError(`unknown command "sessions ${sub}"`);
  }
}

/** `--to <storage>` and the one flag that says where that storage is. */
function migrateTarget(args: string[]): MigrateTarget {
  const flags = Object.fromEntries(CLI_KINDS.map((k) => [k.cli.flag, true]));
  const p = parseWith(args, { positionals: [], flags: { to: true, ...flags } }, "migrate");
  const to = str(p.flags.get("to"));
  if (to === null) throw new UsageError(`"migrate" needs --to ${CLI_NAMES}`);
  const kind = CLI_KINDS.find((k) => k.name === to);
  if (!kind) throw new UsageError(`--to takes ${CLI_NAMES} (not "${to}")`);
  const wanted = kind.cli.flag;
  for (const { cli: { flag } } of CLI_KINDS) {
    if (flag !== wanted && p.flags.has(flag)) throw new UsageError(`--${flag} is not for --to ${kind.name} (it takes --${wanted})`);
  }
  const where = str(p.flags.get(wanted));
  if (!where) throw new UsageError(`"migrate --to ${kind.name}" needs --${wanted} <${kind.cli.value}>`);
  return { storage: kind.name, [placeField(wanted)]: where };
}
