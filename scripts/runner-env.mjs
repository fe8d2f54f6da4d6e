// npm and `deno task` tell a script where the user ran the command in
// INIT_CWD (they start it in the package's folder); relative DATA_DIR and
// KV_PATH resolve against it. `bun run` passes that folder as
// npm_config_local_prefix instead: give it the same name.
if (process.versions.bun && !process.env.INIT_CWD && process.env.npm_config_local_prefix) {
  process.env.INIT_CWD = process.env.npm_config_local_prefix;
}
