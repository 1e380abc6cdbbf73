import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../src/index";
import { createShow, json } from "./fixtures";
import { api, base } from "./helpers";

interface Overlay {
  sections: { section_id: string; available: number; total: number }[];
  seats?: { seat_id: string; status: string }[];
  as_of_ms: number;
}

const overlayReads = (showId: string) =>
  runInDurableObject(env.SHOW.getByName(showId), (instance: ShowDO) => instance.overlayReads);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `total` overlay reads of `path`, `concurrency` at a time, `pauseMs` apart: a crowd refreshing the map. */
async function crowd(path: string, total: number, concurrency = 50, pauseMs = 0) {
  for (let done = 0; done < total; done += concurrency) {
    if (pauseMs) await sleep(pauseMs);
    const batch = await Promise.all(Array.from({ length: concurrency }, () => api(path)));
    for (const response of batch) {
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  }
}

describe("the seat-map overlay is served from the edge cache, about a second old at most", () => {
  it("1,000 overlay reads over a few seconds cost the show's DO about one call per second", async () => {
    const { showId } = await createShow();
    const before = await overlayReads(showId);
    const started = performance.now();
    await crowd(`/v1/shows/${showId}/seat-map`, 1_000, 50, 150);
    const elapsedS = (performance.now() - started) / 1000;
    const calls = (await overlayReads(showId)) - before;
    console.log(`seat-map overlay: ${calls} DO calls per 1,000 reads over ${elapsedS.toFixed(2)} s`);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(Math.ceil(elapsedS) + 2);
  });

  it("each section query is its own entry; concurrent misses share one DO call", async () => {
    const { showId } = await createShow();
    const before = await overlayReads(showId);
    const responses = await Promise.all(
      ["A", "B", "A", "B", "A", "B"].flatMap((section) =>
        Array.from({ length: 20 }, () => api(`/v1/shows/${showId}/seat-map?section=${section}`)),
      ),
    );
    const bodies = await Promise.all(responses.map((response) => json<Overlay>(response, 200)));
    expect(new Set(bodies.map((body) => body.seats?.[0]?.seat_id))).toEqual(new Set(["A-1-1", "B-1-1"]));
    expect((await overlayReads(showId)) - before).toBeLessThanOrEqual(2 * 2);
  });

  it("a change shows in the overlay once the cached copy is a second old", async () => {
    const { showId } = await createShow();
    const first = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map?section=A`), 200);
    expect(first.sections.find((s) => s.section_id === "A")?.available).toBe(12);
    const hold = await env.SHOW.getByName(showId).hold({
      fan_id: "fan_overlay_cache",
      idempotency_key: "k1",
      request_hash: "h",
      seat_ids: ["A-1-2"],
    });
    expect(hold.ok).toBe(true);
    await sleep(1_100);
    const after = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map?section=A`), 200);
    expect(after.as_of_ms).toBeGreaterThan(first.as_of_ms);
    expect(after.sections.find((s) => s.section_id === "A")?.available).toBe(11);
    expect(after.seats?.find((s) => s.seat_id === "A-1-2")?.status).toBe("unavailable");
  });

  it("a copy in the location's Cache API, put there by another isolate, is served without the DO", async () => {
    const { showId } = await createShow();
    const fresh = await env.SHOW.getByName(showId).availability();
    const before = await overlayReads(showId);
    const copy = { ...fresh!, sections: fresh!.sections.map((s) => ({ ...s, available: 7 })), as_of_ms: Date.now() };
    await caches.default.put(
      `${base}/v1/shows/${showId}/seat-map`,
      new Response(JSON.stringify(copy), { headers: { "cache-control": "public, max-age=1" } }),
    );
    const overlay = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map`), 200);
    expect(overlay.sections.map((s) => s.available)).toEqual([7, 7]);
    expect((await overlayReads(showId)) - before).toBe(0);
  });
});
