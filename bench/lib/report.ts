import { cpuPerReq, type Meta, num, PG_NOTE, type RuntimeResult, spread, startFigures } from "./figures.ts";
import { renderGoals } from "./goals.ts";

/** The bench's report: the goals, then every figure they come from. */
export function renderReport(results: RuntimeResult[], meta: Meta): string {
  const L: string[] = [];
  L.push(`# Benchmark: the service against its ceiling`, "");
  L.push(`- date: ${meta.date}`, `- machine: ${meta.nproc} cores (\`nproc\`), ${meta.cpu}`);
  L.push(
    `- pinning: ${
      meta.pinning ? "servers on core 0, load generator on core 1 (taskset)" : "NONE (taskset unavailable): figures share both cores"
    }`,
  );
  L.push(`- runtimes: ${results.map((r) => r.version).join(", ")}`, `- mode: ${meta.mode}; ${meta.params}`, "");

  L.push(...renderGoals(results));

  L.push("", `## GET /api/v1/users/me (A/B interleaved)`, "");
  L.push(
    `CPU µs/req is server CPU time per answered request: unlike req/s it does not depend on whether the load generator kept the server busy.`,
    "",
  );
  L.push(`Every repetition is shown (clean or not); the ratios in Goals use the clean ones when there are any.`, "");
  L.push(
    `| runtime | target | req/s | p50 ms | p99 ms | server CPU (cores) | CPU µs/req | load-gen CPU | others on server core | others on load-gen core |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    if (!r.get) continue;
    for (
      const [name, rs] of [
        ["service, session_db_auth", r.get.session],
        ["service, session_db_auth: GET /auth_session/check (forward auth)", r.get.check ?? []],
        ["ceiling (bare Hono + Map)", r.get.ceiling],
        ["ceiling's app on the service's server", r.get.served ?? []],
        ["that app with every answer's duties", r.get.duties ?? []],
        [
          "service, basic_auth",
          r.get.basic,
        ],
        ["service, session_db_auth on Deno KV", r.get.kv],
        ["service, session_db_auth, SESSION_IDLE_TIMEOUT=1800", r.get.idle],
        ["service, session_db_auth on PostgreSQL", r.get.postgres ?? []],
      ] as const
    ) {
      if (!rs.length) continue;
      L.push(
        `| ${r.runtime} | ${name} | ${spread(rs.map((x) => x.rps))} | ${spread(rs.map((x) => x.p50Ms), 2)} | ${
          spread(rs.map((x) => x.p99Ms), 2)
        } | ${spread(rs.map((x) => x.serverCpu ?? NaN), 2)} | ${spread(rs.map(cpuPerReq), 1)} | ${
          spread(rs.map((x) => x.loadgenCpu), 2)
        } | ${spread(rs.map((x) => x.otherCpu), 2)} | ${spread(rs.map((x) => x.otherGenCpu), 2)} |`,
      );
    }
  }

  L.push("", `## Logins: POST /api/v1/auth_session/login, 8 concurrent clients`, "");
  L.push(`Raw and login runs alternate; "others" is what other tenants took of the server's core (0) meanwhile.`, "");
  L.push(
    `| runtime | raw PBKDF2 hashes/s (same core, c=8) | logins/s | ratio | login p50 / p99 ms | /status p50 / p99 ms (light probe meanwhile) | other: raw / logins |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    if (!r.login) continue;
    const { raw, logins, status } = r.login;
    const lr = logins.map((x, i) => x.rps / (raw[i] ?? NaN));
    L.push(
      `| ${r.runtime} | ${spread(raw, 2)} | ${spread(logins.map((x) => x.rps), 2)} | ${spread(lr, 2)} | ${
        spread(logins.map((x) => x.p50Ms))
      } / ${spread(logins.map((x) => x.p99Ms))} | ${spread(status.map((x) => x.p50Ms), 2)} / ${spread(status.map((x) => x.p99Ms), 1)} | ${
        spread(r.login.rawOther, 2)
      } / ${spread(logins.map((x) => x.otherCpu), 2)} |`,
    );
  }

  const withSignups = results.filter((r) => r.login?.signups?.length);
  if (withSignups.length) {
    L.push("", `## Sign-ups on PostgreSQL: POST /api/v1/users, 8 concurrent clients`, "");
    L.push(
      `Each sign-up hashes its password (PBKDF2) and inserts one row; compared with raw PBKDF2 of the same repetition. ${PG_NOTE}.`,
      "",
    );
    L.push(
      `| runtime | raw PBKDF2 hashes/s | sign-ups/s | ratio | p50 / p99 ms | server CPU (cores) |`,
      `| --- | --- | --- | --- | --- | --- |`,
    );
    for (const r of withSignups) {
      const { raw, signups } = r.login!;
      L.push(
        `| ${r.runtime} | ${spread(raw, 2)} | ${spread(signups!.map((x) => x.rps), 2)} | ${
          spread(signups!.map((x, i) => x.rps / (raw[i] ?? NaN)), 2)
        } | ${spread(signups!.map((x) => x.p50Ms))} / ${spread(signups!.map((x) => x.p99Ms))} | ${
          spread(signups!.map((x) => x.serverCpu ?? NaN), 2)
        } |`,
      );
    }
  }

  L.push("", `## File store: create latency (STORAGE=file, no auth, one create at a time)`, "");
  L.push(
    `HTTP is POST /api/v1/users end to end (PBKDF2 included); "storage only" drives \`openFileDriver\` directly: createUser with a ready record (journal append + fdatasync). Startup is spawn to the listening line; RSS is VmRSS of the server process 1 s after it.`,
    "",
  );
  L.push(
    `| runtime | existing users | HTTP create p50 / p99 ms (n) | storage only p50 / p99 ms (n) | driver open / close ms | server startup ms | server RSS MiB |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    for (const c of r.creates) {
      const http = c.http ? `${num(c.http.p50Ms, 1)} / ${num(c.http.p99Ms, 1)} (${c.http.count})` : "n/a";
      const st = !c.store
        ? "n/a"
        : "unavailable" in c.store
        ? `not measured: ${c.store.unavailable}`
        : `${num(c.store.p50Ms, 2)} / ${num(c.store.p99Ms, 2)} (${c.store.n})`;
      const oc = c.store && !("unavailable" in c.store) ? `${num(c.store.openMs)} / ${num(c.store.closeMs)}` : "n/a";
      L.push(
        `| ${r.runtime} | ${c.users.toLocaleString("en")} | ${http} | ${st} | ${oc} | ${num(c.startupMs)} | ${num(c.rssMiB ?? NaN)} |`,
      );
    }
  }

  L.push("", `## Startup and memory with 100,000 users (STORAGE=file)`, "");
  L.push(
    `The floor is a fresh process of the same runtime reading and \`JSON.parse\`-ing the same two files (\`.db_User.json\`, \`.db_UserSession.json\`), nothing else. The goals count what 100k users add to a start with 1k users: a runtime's fixed costs (its own start, loading the code, its heap) are there with any data.`,
    "",
  );
  L.push(
    `| runtime | spawn → listening ms, 100k / 1k users | read + JSON.parse ms | (100k − 1k) ÷ parse | RSS MiB, 100k / 1k users | files MiB | (100k − 1k) ÷ files | RSS of the JSON.parse process MiB | samples |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    const s = r.startup;
    if (s.ms.length) {
      const f = startFigures(s);
      L.push(
        `| ${r.runtime} | ${spread(s.ms)} / ${spread(s.ms1k)} | ${spread(s.parseMs)} | ${num(f.start, 2)} | ${spread(s.rssMiB)} / ${
          spread(s.rssMiB1k)
        } | ${num(s.fileMiB, 1)} | ${num(f.memory, 2)} | ${spread(s.parseRssMiB)} | ${s.ms.length} / ${s.ms1k.length} |`,
      );
    }
  }

  const errs = results.flatMap((r) => r.errors.map((e) => `- ${r.runtime}: ${e.split("\n")[0]}`));
  if (errs.length) L.push("", `## Not measured`, "", ...errs);
  return L.join("\n") + "\n";
}
