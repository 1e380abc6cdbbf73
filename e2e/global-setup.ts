import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts `scripts/dev.mjs` (what `npm run dev` runs) on free ports with its state in a fresh
 * temporary folder, builds the app once, and waits for the demo seed. Tests read the URL and
 * the organizer key from the environment; the returned function stops the stack.
 */
export default async function globalSetup() {
  if (process.env.ONSALE_E2E_URL) return async () => {};
  const dir = mkdtempSync(path.join(tmpdir(), "onsale-e2e-"));
  const port = await freePort();
  const organizerKey = `osk_dev_${randomBytes(24).toString("hex")}`;
  const started = Date.now();
  const child: ChildProcess = spawn(path.join(root, "node_modules", ".bin", "node"), ["scripts/dev.mjs"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // wrangler and vite find the project's Node 22 first, however this runner was started.
      PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
      PORT: String(port),
      PGPORT: String(await freePort()),
      ONSALE_INSPECTOR_PORT: String(await freePort()),
      ONSALE_DATA_DIR: path.join(dir, "data"),
      ONSALE_WRANGLER_STATE: path.join(dir, "wrangler"),
      ONSALE_WEB: "build",
      ONSALE_DEV_ORGANIZER_KEY: organizerKey,
    },
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the stack did not start within 240 s:\n${output.slice(-4000)}`)),
      240_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("Onsale is running.")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`scripts/dev.mjs exited (${code}) before the stack was up:\n${output.slice(-4000)}`));
    });
  });
  child.stdout!.removeAllListeners("data");
  child.stderr!.removeAllListeners("data");
  // Keep draining the pipes so the stack never blocks on a full buffer.
  child.stdout!.resume();
  child.stderr!.resume();
  process.env.ONSALE_E2E_URL = `http://127.0.0.1:${port}`;
  process.env.ONSALE_E2E_ORGANIZER_KEY = organizerKey;
  // The Stripe stand-in's URL (the stubbed Stripe.js of e2e/stripe-element.spec.ts settles payments there).
  const stripeUrl = /Stripe\s+(http:\/\/\S+)/.exec(output)?.[1];
  if (stripeUrl) process.env.ONSALE_E2E_STRIPE_URL = stripeUrl;
  console.log(`[e2e] stack up at ${process.env.ONSALE_E2E_URL} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  return async () => {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
        resolve();
      }, 20_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      process.kill(-child.pid!, "SIGTERM");
    });
    rmSync(dir, { recursive: true, force: true });
  };
}
