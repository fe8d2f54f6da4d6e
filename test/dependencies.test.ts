import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./helpers/server.ts";

/**
 * The dependency rule of CONTRIBUTING.md, enforced: every import in src/
 * points down the layers (or stays in its own), no module imports itself
 * back through others (type-only imports count too), and the CLI never
 * loads the HTTP app.
 */

/** Lowest first: a module may import its own layer and the ones before it. */
export const LAYERS = ["domain", "lib", "storage", "repos", "auth", "http", "app", "cli", "entry"] as const;

type Graph = Map<string, { local: string[]; packages: string[] }>;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}

/** Every module of `src` with what it imports (static, dynamic and type-only). */
export function importGraph(src = join(ROOT, "src")): Graph {
  const graph: Graph = new Map();
  const specifier =
    /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;
  for (const file of sources(src)) {
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "");
    const node = { local: [] as string[], packages: [] as string[] };
    for (const m of text.matchAll(specifier)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith(".")) node.local.push(relative(src, resolve(dirname(file), spec)));
      else node.packages.push(spec);
    }
    graph.set(relative(src, file), node);
  }
  return graph;
}

const layerOf = (module: string) => LAYERS.indexOf(module.split("/")[0] as (typeof LAYERS)[number]);

/** Imports that point up the layers, as "from -> to". */
export function upwardImports(graph: Graph): string[] {
  const bad: string[] = [];
  for (const [from, { local }] of graph) {
    for (const to of local) if (layerOf(to) > layerOf(from)) bad.push(`${from} -> ${to}`);
  }
  return bad;
}

/** Import cycles, each as the modules around it. */
export function cycles(graph: Graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, "open");
    stack.push(m);
    for (const next of graph.get(m)?.local ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(m, "done");
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return found;
}

/** The packages a module loads, itself or through the modules it imports. */
function packagesReachable(graph: Graph, start: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (m: string) => {
    if (seen.has(m)) return;
    seen.add(m);
    const node = graph.get(m);
    for (const p of node?.packages ?? []) packages.add(p);
    for (const next of node?.local ?? []) walk(next);
  };
  walk(start);
  return packages;
}

describe("dependency rule", () => {
  const graph = importGraph();

  it("every module of src/ is in a layer, and every local import resolves to one", () => {
    for (const [module, { local }] of graph) {
      assert.ok(layerOf(module) >= 0, `${module} is in no layer of ${LAYERS.join(", ")}`);
      for (const to of local) assert.ok(graph.has(to), `${module} imports ${to}, which does not exist`);
    }
  });

  it("imports point down the layers: domain <- lib <- storage <- repos <- auth <- http <- app <- cli <- entry", () => {
    assert.deepEqual(upwardImports(graph), []);
  });

  it("lib and domain import nothing of ours but themselves", () => {
    for (const [module, { local }] of graph) {
      const layer = module.split("/")[0];
      if (layer !== "lib" && layer !== "domain") continue;
      for (const to of local) assert.equal(to.split("/")[0], layer, `${module} imports ${to}`);
    }
  });

  it("no import cycles, type-only imports included", () => {
    assert.deepEqual(cycles(graph).map((c) => c.join(" -> ")), []);
  });

  it("the CLI does not load the HTTP app to open a storage", () => {
    const packages = packagesReachable(graph, "entry/cli.ts");
    assert.ok(![...packages].some((p) => p === "hono" || p.startsWith("hono/") || p.startsWith("@hono/")), [...packages].join(", "));
  });

  it("catches what it is for: an upward import, and a cycle", () => {
    const bad: Graph = new Map(graph);
    bad.set("storage/driver.ts", { local: [...graph.get("storage/driver.ts")!.local, "auth/password.ts"], packages: [] });
    assert.deepEqual(upwardImports(bad), ["storage/driver.ts -> auth/password.ts"]);
    bad.set("lib/log.ts", { local: ["lib/limiter.ts"], packages: [] });
    bad.set("lib/limiter.ts", { local: ["lib/log.ts"], packages: [] });
    assert.equal(cycles(bad).length, 1);
  });
});
