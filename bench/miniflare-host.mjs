// The Worker served by workerd directly, without `wrangler dev`'s proxy: the "miniflare"
// target of `npm run bench:holds`. Runs as its own process so its CPU is accounted apart.
//
//   node bench/miniflare-host.mjs <config.json>
//
// config: { scriptPath, port, persistTo, bindings, ratelimits?, logRequests, inspectorPort?, role?,
// registryPath? }. The worker options come from
// wrangler.toml through wrangler's own `unstable_getMiniflareWorkerOptions` (the bindings, the
// Durable Object class and its SQLite storage, the KV namespace, the Rate Limiting bindings,
// compatibility date and flags), with the script replaced by the bundle `wrangler deploy --dry-run`
// built; `ratelimits`, when given, replaces wrangler.toml's limits (bench/lib/stack.mjs raises
// them so a benchmark's crowd, all from 127.0.0.1, is never refused, while every request still
// pays for the limiter calls it makes in production). Miniflare is the one
// wrangler itself uses, so both targets run the same workerd build. Prints `READY <url>` once
// listening; SIGTERM or SIGINT disposes of it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const require = createRequire(import.meta.url);
const wranglerDir = path.dirname(require.resolve("wrangler/package.json"));
const { Log, LogLevel, Miniflare, convertV4MiniflareOptions } = createRequire(path.join(wranglerDir, "package.json"))(
  "miniflare",
);

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
// Only what this Worker uses: the rest of the generated options are empty or dev-only.
const { compatibilityDate, compatibilityFlags, bindings, kvNamespaces, durableObjects, ratelimits } = workerOptions;

// `role` splits the stack over two workerd processes, as production splits it over isolates
// (usually machines): "do" serves the Durable Objects (the same bundle, named `onsale-do`, its
// fetch handler unused), "worker" serves the Worker with every Durable Object binding pointing at
// `onsale-do` (`scriptName`). Miniflare resolves such a binding through its dev registry (a
// directory both processes share): a proxy object in the Worker's process forwards each call
// over workerd's debug port to the real object in the other process. No role: one process,
// the Worker and its objects in one isolate.
const role = config.role ?? "both";
const DO_SCRIPT = "onsale-do";
const objects =
  role === "worker"
    ? Object.fromEntries(Object.entries(durableObjects).map(([name, o]) => [name, { ...o, scriptName: DO_SCRIPT }]))
    : durableObjects;
const registry =
  role === "both"
    ? { enableDevRegistry: false }
    : { enableDevRegistry: true, unsafeDevRegistryPath: config.registryPath };

const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [
      {
        name: role === "do" ? DO_SCRIPT : "onsale",
        compatibilityDate,
        compatibilityFlags,
        kvNamespaces,
        durableObjects: objects,
        ratelimits: config.ratelimits ?? ratelimits,
        modules: true,
        scriptPath: config.scriptPath,
        bindings: { ...bindings, ...config.bindings },
      },
    ],
    host: "127.0.0.1",
    port: config.port,
    // Only when asked: the CPU profile of the Worker + DO isolate (bench/lib/profile.mjs).
    ...(config.inspectorPort ? { inspectorPort: config.inspectorPort } : {}),
    resourcePersistencePath: config.persistTo,
    logRequests: Boolean(config.logRequests),
    ...registry,
    cf: false,
    log: new Log(LogLevel.WARN),
  }),
);
const url = await mf.ready;
console.log(`READY ${url.href}`);

let disposing = false;
async function dispose() {
  if (disposing) return;
  disposing = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", dispose);
process.on("SIGINT", dispose);
// If the parent dies, do not linger.
process.on("disconnect", dispose);
