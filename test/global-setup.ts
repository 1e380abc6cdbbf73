import { rmSync } from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import {
  freePort,
  migrateDatabase,
  root,
  startPgBlackHole,
  startPgStallingRelay,
  startPgWsProxy,
  startPostgres,
  // @ts-expect-error -- plain ESM helper shared with the dev script; it has no type declarations.
} from "../scripts/local-stack.mjs";
// @ts-expect-error -- plain ESM script, also run on its own; it has no type declarations.
import { startStripeStandin } from "../scripts/stripe-standin.mjs";
// @ts-expect-error -- plain ESM script, also run on its own; it has no type declarations.
import { startTurnstileStandin } from "../scripts/turnstile-standin.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    pgWsProxy: string;
    stripeApiUrl: string;
    /** A tunnel to a Postgres that never answers (test/faults-*.test.ts). */
    pgFrozenProxy: string;
    /** A relay to the real tunnel that can be told to stop answering (test/faults-postgres.test.ts). */
    pgStallingRelay: string;
    /** A second Stripe stand-in, only for test/faults-stripe.test.ts: its outages hit every caller. */
    stripeFaultyApiUrl: string;
    turnstileUrl: string;
  }
}

/**
 * A real Postgres for the whole run: `DATABASE_URL` when set, otherwise an embedded server
 * with a freshly created database. The Worker under test reaches it through the same
 * WebSocket tunnel `npm run dev` uses. Stripe is the local stand-in; the Worker under test
 * has no address it could POST webhooks to, so tests take them from /_standin/ instead.
 */
export default async function setup(project: TestProject) {
  let databaseUrl = process.env.DATABASE_URL;
  let stopPostgres = async () => {};
  if (!databaseUrl) {
    // A cluster of its own per run, so two test runs on one machine never share a database.
    const dataDir = path.join(root, ".data", `test-postgres-${process.pid}`);
    const postgres = await startPostgres({ dataDir, port: await freePort(), database: "onsale_test", fresh: true });
    databaseUrl = postgres.url as string;
    stopPostgres = async () => {
      await postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  await migrateDatabase(databaseUrl);
  const proxy = await startPgWsProxy({ databaseUrl });
  const standin = await startStripeStandin({ webhookSecret: "whsec_test_onsale", autoWebhooks: false });
  project.provide("databaseUrl", databaseUrl);
  project.provide("pgWsProxy", proxy.url);
  project.provide("stripeApiUrl", standin.url);
  const blackHole = await startPgBlackHole();
  project.provide("pgFrozenProxy", blackHole.url);
  const stallingRelay = await startPgStallingRelay(proxy.url);
  project.provide("pgStallingRelay", stallingRelay.url);
  const faultyStandin = await startStripeStandin({ webhookSecret: "whsec_test_onsale", autoWebhooks: false });
  project.provide("stripeFaultyApiUrl", faultyStandin.url);
  const turnstile = await startTurnstileStandin();
  project.provide("turnstileUrl", turnstile.url);
  return async () => {
    await standin.close();
    await faultyStandin.close();
    await blackHole.close();
    await stallingRelay.close();
    await turnstile.close();
    await proxy.close();
    await stopPostgres();
  };
}
