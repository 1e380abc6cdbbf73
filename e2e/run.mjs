// `npm run test:e2e`: the fan app in a real browser against a real stack. Debian's Chromium is
// the browser (Playwright never downloads one here); when /usr/bin/chromium is missing and
// this runs as root, it is installed with apt, otherwise the command to do so is printed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const chromium = process.env.ONSALE_E2E_CHROMIUM ?? "/usr/bin/chromium";

if (!existsSync(chromium)) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log("[e2e] installing Debian's chromium (apt-get)…");
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } else {
    console.error(
      `[e2e] ${chromium} is missing: install it with\n  sudo apt-get install -y --no-install-recommends chromium\n` +
        "or point ONSALE_E2E_CHROMIUM at a Chromium binary.",
    );
    process.exit(1);
  }
}

const result = spawnSync(
  path.join(root, "node_modules", ".bin", "playwright"),
  ["test", "-c", path.join(root, "e2e", "playwright.config.ts"), ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
