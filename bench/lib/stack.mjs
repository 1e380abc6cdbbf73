// The local stack for `npm run bench:holds`, on its own ports and throwaway directories: the
// same pieces `npm run dev` starts (embedded Postgres, migrations, the WebSocket tunnel,
// `wrangler dev` with the Show DO and KV), plus the same Worker served by workerd directly
// through Miniflare. The Worker is bundled once at the start (`wrangler deploy --dry-run`), so
// edits others make to src/ during the run cannot reload it halfway through a measurement.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, migrateDatabase, root, startPgWsProxy, startPostgres } from "../../scripts/local-stack.mjs";
import { cmdline, processTree } from "./procs.mjs";

export { freePort, root };

const bin = (name) => path.join(root, "node_modules", ".bin", name);
const nodeBin = existsSync(bin("node")) ? bin("node") : process.execPath;

/** Postgres (embedded, fresh, or DATABASE_URL), migrated, and the tunnel the Neon driver needs. */
export async function startDatabase({ dir, log, pooling = true }) {
  let url = process.env.DATABASE_URL;
  let stopPostgres = async () => {};
  if (!url) {
    const port = await freePort();
    log(`embedded Postgres on 127.0.0.1:${port} (data in ${path.relative(root, dir)}/postgres)`);
    const pg = await startPostgres({
      dataDir: path.join(dir, "postgres"),
      port,
      database: "onsale_bench",
      fresh: true,
    });
    url = pg.url;
    stopPostgres = pg.stop;
  }
  await migrateDatabase(url);
  const proxy = await startPgWsProxy({ port: await freePort(), databaseUrl: url, pooling });
  return {
    url,
    proxyUrl: proxy.url,
    /** Statements run through the pooler so far (null without pooling). */
    statements: () => proxy.pool?.stats.statements ?? null,
    stop: async () => {
      await proxy.close();
      await stopPostgres();
    },
  };
}

/** Runs a command to completion with a time limit; rejects with its output on failure. */
function run(command, args, { timeoutMs, logFile }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (logFile) writeFileSync(logFile, output);
      if (code === 0) resolve(output);
      else reject(new Error(`${args.slice(0, 2).join(" ")} failed (${signal ?? code}):\n${output.slice(-3000)}`));
    });
  });
}

/** The Worker as wrangler bundles it for deployment: one ES module. */
export async function buildBundle({ dir }) {
  const outDir = path.join(dir, "build");
  await run(nodeBin, [bin("wrangler"), "deploy", "--dry-run", "--outdir", outDir], {
    timeoutMs: 120_000,
    logFile: path.join(dir, "build.log"),
  });
  return path.join(outDir, "index.js");
}

async function waitUntilServing(url, child, deadlineMs, describe) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${describe} exited (${child.exitCode}) before serving`);
    try {
      const response = await fetch(`${url}/v1/dev/noop`);
      if (response.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${describe} did not serve ${url}/v1/dev/noop within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** SIGTERM to the child's process group, SIGKILL after a grace period. */
function stopGroup(child, graceMs = 10_000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {}
    };
    const timer = setTimeout(() => kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      // Anything the group left behind (workerd) goes too.
      kill("SIGKILL");
      resolve();
    });
    kill("SIGTERM");
  });
}

/**
 * `wrangler dev` exactly as `npm run dev` runs it (the --var flags, local mode), but on the
 * prebuilt bundle (`--no-bundle`), its own port, inspector port and state directory.
 */
export async function startWrangler({ dir, bundle, vars }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "dev",
    bundle,
    "--no-bundle",
    "-c",
    path.join(root, "wrangler.toml"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    path.join(dir, "wrangler-state"),
    "--show-interactive-dev-session=false",
  ];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  const logFile = path.join(dir, "wrangler-dev.log");
  const out = createWriteStream(logFile);
  // Run with the project's Node 22 whatever `node` is first on PATH (wrangler 4 needs it).
  const child = spawn(nodeBin, [bin("wrangler"), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilServing(url, child, 120_000, "wrangler dev");
  return {
    name: "wrangler",
    label: "wrangler dev (its proxy workerd → worker workerd)",
    url,
    logFile,
    // wrangler's DevTools proxy (the worker's own inspector already has wrangler's session).
    inspector: { port: inspectorPort, target: "ws", origin: "https://devtools.devprod.cloudflare.dev" },
    /** Process groups for CPU accounting, by role. */
    processGroups() {
      const groups = { "workerd (wrangler proxy)": [], "workerd (worker + DO)": [], "wrangler (node)": [] };
      for (const p of processTree(child.pid)) {
        if (p.comm === "workerd") {
          const role = p.cmdline.includes(`entry=127.0.0.1:${port}`)
            ? "workerd (wrangler proxy)"
            : "workerd (worker + DO)";
          groups[role].push(p.pid);
        } else groups["wrangler (node)"].push(p.pid);
      }
      return groups;
    },
    stop: () => stopGroup(child),
  };
}

/**
 * wrangler.toml's Rate Limiting bindings with limits no benchmark reaches. A bench crowd comes
 * from one address (Miniflare sets `CF-Connecting-IP: 127.0.0.1`), so the production per-address
 * limit (20,000 per 10 s) would refuse a join storm, and the per-fan limits would refuse the
 * closed-loop cells; the bindings stay, so every request still makes the limiter calls it makes
 * in production (without them the Worker's limiter fails open and logs an error per request).
 */
export function benchRateLimits() {
  const text = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const limits = {};
  for (const block of text.split(/^\[\[ratelimits\]\]\s*$/m).slice(1)) {
    const name = block.match(/^name\s*=\s*"([^"]+)"/m)?.[1];
    const namespaceId = block.match(/^namespace_id\s*=\s*"([^"]+)"/m)?.[1];
    const period = Number(block.match(/period\s*=\s*(\d+)/)?.[1] ?? 60);
    if (name) limits[name] = { namespace_id: namespaceId, simple: { limit: 1_000_000_000, period } };
  }
  return limits;
}

/** One bench/miniflare-host.mjs process; resolves once it serves /v1/dev/noop. */
async function startHost({ dir, bundle, vars, inspector, ratelimits, role, registryPath, name }) {
  const port = await freePort();
  const inspectorPort = inspector ? await freePort() : undefined;
  const configFile = path.join(dir, `${name}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      scriptPath: bundle,
      port,
      inspectorPort,
      persistTo: path.join(dir, `${name}-state`),
      bindings: vars,
      ratelimits,
      role,
      registryPath,
    }),
  );
  const logFile = path.join(dir, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(nodeBin, [path.join(root, "bench", "miniflare-host.mjs"), configFile], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilServing(url, child, 60_000, name);
  return { child, url, logFile, inspectorPort };
}

/**
 * The same bundle served by workerd directly (bench/miniflare-host.mjs), no proxy in front.
 * `split`: the Worker in one workerd process and every Durable Object in another (as in
 * production, where they run in different isolates, usually on different machines), the
 * bindings crossing between them through Miniflare's dev registry; `inspector` then profiles
 * both isolates (`target.inspector` the Worker's, `target.doInspector` the objects').
 */
export async function startMiniflare({
  dir,
  bundle,
  vars,
  inspector = false,
  ratelimits = benchRateLimits(),
  split = false,
}) {
  if (!split) {
    const host = await startHost({ dir, bundle, vars, inspector, ratelimits, name: "miniflare" });
    return {
      name: "miniflare",
      label: "workerd via Miniflare directly (no proxy)",
      url: host.url,
      logFile: host.logFile,
      inspector: host.inspectorPort ? { port: host.inspectorPort, target: "core:user:onsale" } : null,
      processGroups() {
        const groups = { "workerd (worker + DO)": [], "miniflare host (node)": [] };
        for (const p of processTree(host.child.pid)) {
          groups[p.comm === "workerd" ? "workerd (worker + DO)" : "miniflare host (node)"].push(p.pid);
        }
        return groups;
      },
      stop: () => stopGroup(host.child),
    };
  }
  const registryPath = path.join(dir, "dev-registry");
  // The objects first: the Worker's proxies find them in the registry when it starts.
  const objects = await startHost({
    dir,
    bundle,
    vars,
    inspector,
    ratelimits,
    role: "do",
    registryPath,
    name: "miniflare-do",
  });
  let worker;
  try {
    worker = await startHost({
      dir,
      bundle,
      vars,
      inspector,
      ratelimits,
      role: "worker",
      registryPath,
      name: "miniflare-worker",
    });
  } catch (error) {
    await stopGroup(objects.child);
    throw error;
  }
  return {
    name: "split",
    label: "workerd via Miniflare, the Worker and the Durable Objects in two processes",
    url: worker.url,
    logFile: worker.logFile,
    doLogFile: objects.logFile,
    inspector: worker.inspectorPort ? { port: worker.inspectorPort, target: "core:user:onsale" } : null,
    doInspector: objects.inspectorPort ? { port: objects.inspectorPort, target: "core:user:onsale-do" } : null,
    processGroups() {
      const groups = { "workerd (worker)": [], "workerd (DO)": [], "miniflare host (node)": [] };
      for (const [host, role] of [
        [worker, "workerd (worker)"],
        [objects, "workerd (DO)"],
      ]) {
        for (const p of processTree(host.child.pid))
          groups[p.comm === "workerd" ? role : "miniflare host (node)"].push(p.pid);
      }
      return groups;
    },
    stop: async () => {
      await stopGroup(worker.child);
      await stopGroup(objects.child);
    },
  };
}

/** An already running stack (`--url`): nothing to start or stop, no process accounting. */
export function externalTarget(url) {
  return { name: "external", label: `running stack at ${url}`, url, processGroups: () => ({}), stop: async () => {} };
}

/**
 * The Onsale Worker's bindings for a bench stack: fresh secrets, the database behind the
 * tunnel, and the Stripe stand-in when one is given. `fanSecret` signs the simulated fans' JWTs.
 */
export function benchWorkerVars({ db, stripe = null }) {
  const fanSecret = randomBytes(32).toString("hex");
  const { privateKey } = generateKeyPairSync("ed25519");
  const vars = {
    ENVIRONMENT: "development",
    DATABASE_URL: db.url,
    PG_WS_PROXY: db.proxyUrl,
    FAN_JWT_SECRET: fanSecret,
    QUEUE_TICKET_SECRET: randomBytes(32).toString("hex"),
    TICKET_SIGNING_JWK: JSON.stringify({
      ...privateKey.export({ format: "jwk" }),
      kid: "bench-1",
      alg: "EdDSA",
      use: "sig",
    }),
    ...(stripe && {
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_SECRET_KEY: "sk_test_onsale_bench",
      STRIPE_API_URL: stripe.url,
    }),
  };
  return { vars, fanSecret };
}

/** `[vars]` of wrangler.toml that the fan tokens must match (issuer, audience). */
export function wranglerVars() {
  const text = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const vars = {};
  const section = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  for (const match of section.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[match[1]] = match[2];
  return vars;
}

export { cmdline, nodeBin };
