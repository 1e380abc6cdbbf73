import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CATALOG_FRESH_MS, CATALOG_STALE_MS, catalogClock } from "../src/catalog/edge-cache";
import { postgresStats } from "../src/db/client";
import { PG_CONNECT_TIMEOUT_MS } from "../src/lib/deadline";
import { apiWith, expectUnavailable, postgresDown } from "./faults-helpers";
import { createShow, json } from "./fixtures";
import { api, bearer } from "./helpers";

// The crowd's catalog reads (show, event, the event's shows, search) come from the edge cache;
// the cache's clock is moved to age the copies instead of sleeping.

afterEach(() => {
  catalogClock.now = () => Date.now();
});
const at = (offsetMs: number) => {
  const base = Date.now();
  catalogClock.now = () => base + offsetMs;
};

describe("catalog reads at the edge", () => {
  it("with Postgres down, the last good copy is served and says so; with none, 503 + Retry-After", async () => {
    const { showId, eventId } = await createShow({ city: `Faro-${crypto.randomUUID().slice(0, 6)}` });
    const paths = [`/v1/shows/${showId}`, `/v1/events/${eventId}`, `/v1/events/${eventId}/shows`, `/v1/events?q=Test`];
    for (const path of paths) {
      const first = await api(path);
      await json(first, 200);
      expect(first.headers.get("onsale-cache"), path).toBe("miss");
      expect((await api(path)).headers.get("onsale-cache"), path).toBe("hit");
    }
    // Fresh: Postgres is never asked, up or down.
    for (const path of paths) {
      const fresh = await apiWith(postgresDown(), path);
      expect(fresh.status, path).toBe(200);
      expect(fresh.headers.get("onsale-cache")).toBe("hit");
    }
    // Older than fresh: served at once while a refresh is tried in the background.
    at(CATALOG_FRESH_MS + 1_000);
    for (const path of paths) {
      const stale = await apiWith(postgresDown(), path);
      expect(stale.status, path).toBe(200);
      expect(stale.headers.get("onsale-cache")).toBe("stale");
    }
    // Past the stale window: the load fails, and the copy is served with a warning.
    at(CATALOG_STALE_MS + 60_000);
    for (const path of paths) {
      const served = await apiWith(postgresDown(), path);
      expect(served.status, path).toBe(200);
      expect(served.headers.get("onsale-cache")).toBe("stale-if-error");
      expect(served.headers.get("warning")).toContain("Revalidation Failed");
      expect(Number(served.headers.get("age"))).toBeGreaterThanOrEqual(60);
      expect(served.ms).toBeLessThan(PG_CONNECT_TIMEOUT_MS + 1_000);
    }
    // A show no location ever cached: nothing to serve, a 503 that says when to retry.
    const other = await createShow();
    await expectUnavailable(await apiWith(postgresDown(), `/v1/shows/${other.showId}`), "postgres");
  });

  it("an organizer's change is read at once in its location, not after the TTL", async () => {
    const { showId, organizer } = await createShow();
    await json(await api(`/v1/shows/${showId}`), 200);
    expect((await api(`/v1/shows/${showId}`)).headers.get("onsale-cache")).toBe("hit");
    await json(
      await api(`/v1/admin/shows/${showId}/cancel`, { method: "POST", headers: bearer(organizer.key), json: {} }),
      200,
    );
    const after = await api(`/v1/shows/${showId}`);
    expect((await json<{ status: string }>(after, 200)).status).toBe("cancelled");
    expect(after.headers.get("onsale-cache")).toBe("miss");
  });

  it("1,000 show-page loads cost Postgres a handful of statements, not two each", async () => {
    const { showId } = await createShow();
    const before = postgresStats.statements;
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const loads = await Promise.all(
        Array.from({ length: 50 }, () => exports.default.fetch(`http://onsale.test/v1/shows/${showId}`)),
      );
      for (const load of loads) {
        expect(load.status).toBe(200);
        await load.arrayBuffer();
      }
    }
    const statements = postgresStats.statements - before;
    const seconds = (Date.now() - started) / 1000;
    console.log(`catalog: 1000 show-page loads in ${seconds.toFixed(1)} s cost ${statements} Postgres statements`);
    // One load (two statements: the show, its tiers) per TTL the loop spans, and the first miss.
    expect(statements).toBeLessThanOrEqual(2 * (Math.ceil((seconds * 1000) / CATALOG_FRESH_MS) + 1));
  });
});
