// CI, before the suite: the PostgreSQL at DATABASE_URL must answer, and may
// create databases (each PostgreSQL test makes its own). Without this check
// an unreachable server would surface as a wall of failing tests.
import postgres from "postgres";

const url = process.env.DATABASE_URL?.trim();
if (!url) {
  console.error("error: DATABASE_URL is not set: the PostgreSQL tests need a server, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  process.exit(1);
}
let where = "DATABASE_URL";
try {
  const u = new URL(url);
  where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
} catch {
  console.error("error: DATABASE_URL is not a valid URL (postgres://user@host:port/database)");
  process.exit(1);
}
const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
try {
  const [{ ok }] = await sql`select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user`;
  if (!ok) throw new Error("the role may not create databases, which every PostgreSQL test does");
  console.log(`PostgreSQL answers at ${where}`);
} catch (e) {
  console.error(
    `error: PostgreSQL at ${where} is not usable for the tests: ${e?.code ? `${e.code}: ` : ""}${e?.message ?? e}. ` +
      "Start it, or point DATABASE_URL at a server where this role may create databases.",
  );
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 0 });
}
