// `npm run check:deploy` (run by .ci/run): what `wrangler deploy` would upload still builds, offline,
// within the bundle budget, and worker-configuration.d.ts still matches `wrangler types`.
// What dominates the bundle and why is in docs/operations.md ("Bundle budget").
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { root } from "./local-stack.mjs";

// The budget: today's size plus room for a few features. Raise it on purpose, never by habit.
const BUDGET_KIB = 3600;
const BUDGET_GZIP_KIB = 720;

const bin = (name) => path.join(root, "node_modules", ".bin", name);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
const run = (command, args) =>
  execFileSync(bin(command), args, { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// Generated beside the real file (its import paths are relative to where it is), then compared
// line by line but for the header that names the command. `wrangler types --check` alone only
// compares the header's hash of wrangler.toml, so a hand-edited file would pass it.
let failed = false;
const fresh = path.join(root, ".worker-configuration.check.d.ts");
try {
  run("wrangler", ["types", "--strict-vars=false", path.basename(fresh)]);
  const body = (file) => readFileSync(file, "utf8").split("\n").slice(2).join("\n");
  if (body(fresh) !== body(path.join(root, "worker-configuration.d.ts"))) throw new Error("the generated types differ");
  console.log("worker-configuration.d.ts matches `wrangler types`");
} catch (error) {
  failed = true;
  console.error(`worker-configuration.d.ts is out of date: run \`npm run cf-typegen\` (${error.message})`);
} finally {
  rmSync(fresh, { force: true });
}

// The Static Assets directory must exist for wrangler to accept the configuration.
run("vite", ["build", "-c", "web/vite.config.ts", "--logLevel", "warn"]);
const outdir = path.join(root, ".data", "deploy-dry-run");
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
let output;
try {
  output = run("wrangler", ["deploy", "--dry-run", "--outdir", outdir]);
} catch (error) {
  console.error(`wrangler deploy --dry-run failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  process.exit(1);
}
const size = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
if (!size) {
  console.error(`no upload size in wrangler's output:\n${output}`);
  process.exit(1);
}
const [kib, gzipKib] = [Number(size[1]), Number(size[2])];
const over = kib > BUDGET_KIB || gzipKib > BUDGET_GZIP_KIB;
console.log(
  `Worker bundle: ${kib.toFixed(0)} KiB (budget ${BUDGET_KIB}), gzip ${gzipKib.toFixed(0)} KiB (budget ${BUDGET_GZIP_KIB})${over ? " — OVER BUDGET" : ""}`,
);
process.exit(failed || over ? 1 : 0);
