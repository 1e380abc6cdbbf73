// Bundles the two Workers of `npm run bench:onsale` with wrangler's own esbuild:
// - onsale.js: bench/onsale/onsale-entry.mjs around the bundle `wrangler deploy --dry-run` built
//   (bench/lib/stack.mjs buildBundle), so the Worker under test is byte-for-byte that bundle;
// - baseline.js: bench/onsale/baseline-worker.mjs with @neondatabase/serverless.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const esbuild = createRequire(require.resolve("wrangler/package.json"))("esbuild");

const common = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "esnext",
  conditions: ["workerd", "worker", "browser", "import"],
  mainFields: ["browser", "module", "main"],
  external: ["cloudflare:*", "node:*"],
  logLevel: "error",
  legalComments: "none",
  // Chained through the Worker bundle's own map, so a CPU profile names the source files.
  sourcemap: true,
};

export async function buildWorkers({ dir, onsaleBundle }) {
  const onsale = path.join(dir, "onsale.js");
  const baseline = path.join(dir, "baseline.js");
  await esbuild.build({
    ...common,
    entryPoints: [path.join(here, "onsale-entry.mjs")],
    outfile: onsale,
    plugins: [
      {
        name: "onsale-worker-bundle",
        setup(build) {
          build.onResolve({ filter: /^onsale-worker-bundle$/ }, () => ({ path: onsaleBundle }));
        },
      },
    ],
  });
  await esbuild.build({ ...common, entryPoints: [path.join(here, "baseline-worker.mjs")], outfile: baseline });
  // esbuild's JS API keeps a service process alive for later builds: there are none.
  await esbuild.stop?.();
  return { onsale, baseline };
}
