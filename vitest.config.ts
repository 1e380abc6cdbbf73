import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const testFanJwtSecret = "test-fan-jwt-secret-with-enough-entropy-0123456789";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ENVIRONMENT: "test",
          DATABASE_URL: inject("databaseUrl"),
          PG_WS_PROXY: inject("pgWsProxy"),
          FAN_JWT_SECRET: testFanJwtSecret,
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // The JSON report is what .ci/run counts; the console keeps the default reporter.
    reporters: ["default", ["json", { outputFile: ".data/test-results.json" }]],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
