import { defineConfig, devices } from "@playwright/test";

// Browser tests of the fan app. The global setup starts the whole stack (scripts/dev.mjs on
// free ports, throwaway Postgres and Durable Object state); each test creates the shows it
// needs through the organizer API, so tests never share seats or fans.

const chromiumLaunch = {
  executablePath: process.env.ONSALE_E2E_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.ts",
  outputDir: "../e2e-results/artifacts",
  globalSetup: "./global-setup.ts",
  timeout: 150_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [["list"], ["json", { outputFile: "../e2e-results/results.json" }]],
  use: {
    headless: true,
    launchOptions: chromiumLaunch,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 15_000,
  },
  projects: [
    {
      name: "desktop",
      use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 900 }, channel: undefined },
    },
    {
      // The phone runs the purchase and the accessibility sweep: the flows a small screen changes.
      name: "phone",
      testMatch: ["purchase.spec.ts", "a11y.spec.ts"],
      use: { ...devices["Pixel 7"], channel: undefined },
    },
  ],
});
