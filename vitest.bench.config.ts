import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Figure 1 of `npm run bench:holds` (scripts/bench-holds.mjs runs it): the Show DO's own cost,
// measured inside the object in workerd. A separate config so `npm test` never picks it up; it
// needs no Postgres, Stripe or secrets, only the Show DO binding from wrangler.toml.
const sizes = [
  "BENCH_DO_HOLDS",
  "BENCH_DO_REPS",
  "BENCH_DO_BEST_HOLDS",
  "BENCH_DO_PROFILE_HOLDS",
  "BENCH_FEED_WATCHERS",
  "BENCH_FEED_HOLDS",
] as const;

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ENVIRONMENT: "test",
          ...Object.fromEntries(sizes.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
        },
      },
    }),
  ],
  test: {
    include: ["bench/**/*.inside-do.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
