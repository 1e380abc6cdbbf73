import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { showMigrations } from "../durable-objects/schema";
import { newOrganizerKey } from "../src/auth/organizer-key";
import { demoIds } from "../src/catalog/demo";
import { api } from "./helpers";

describe("Show Durable Object", () => {
  it("Worker → DO round trip: seeding publishes the demo show into its DO's SQLite", async () => {
    const seed = await api("/v1/dev/seed", { method: "POST", json: { organizer_api_key: newOrganizerKey("dev") } });
    expect(seed.status).toBe(200);
    const stub = env.SHOW.getByName(demoIds.showOnSale);
    const stored = await runInDurableObject(stub, (_, state) => ({
      seats: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM seats").one().n,
      config: state.storage.sql.exec<{ show_id: string }>("SELECT show_id FROM show_config").one(),
    }));
    expect(stored.seats).toBe(2400);
    expect(stored.config.show_id).toBe(demoIds.showOnSale);

    // Seeding twice is harmless, and the state survives the object being evicted.
    expect(
      (await api("/v1/dev/seed", { method: "POST", json: { organizer_api_key: newOrganizerKey("dev") } })).status,
    ).toBe(200);
    await evictDurableObject(stub);
    expect(await stub.counts()).toEqual({ available: 2400, held: 0, sold: 0, blocked: 0, capacity: 2400 });
  });

  it("runs each schema migration once, across restarts", async () => {
    const stub = env.SHOW.getByName("show-do-migrations");
    expect(await stub.probe()).toEqual({ schema_version: showMigrations.length });
    await evictDurableObject(stub);
    expect(await stub.probe()).toEqual({ schema_version: showMigrations.length });
    const applied = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ id: number }>("SELECT id FROM _migrations ORDER BY id").toArray(),
    );
    expect(applied.map((m) => m.id)).toEqual(showMigrations.map((m) => m.id));
  });
});
