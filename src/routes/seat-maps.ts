import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../app";
import { id } from "../catalog/schemas";
import { seatMapKvKey } from "../catalog/seat-map";
import { withDatabase } from "../db/client";
import { seatMapVersions } from "../db/schema";
import { notFound } from "../lib/problem";
import { problemResponses } from "../lib/schemas";

const immutable = "public, max-age=31536000, immutable";

/** `If-None-Match` may list several tags, or `*`; weak comparison is fine for a GET. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

export const seatMaps = createRouter();

seatMaps.openapi(
  createRoute({
    method: "get",
    path: "/{venue_id}/{version}",
    tags: ["fans"],
    summary: "Seat-map geometry: immutable, served from the edge cache and KV",
    request: {
      params: z.object({ venue_id: id("ven"), version: z.coerce.number().int().min(1).max(1_000_000) }),
    },
    responses: {
      200: { description: "The geometry document", content: { "application/json": { schema: z.any() } } },
      304: { description: "Not modified" },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { venue_id, version } = c.req.valid("param");
    const cache = caches.default;
    const cacheKey = new Request(new URL(`/v1/seat-maps/${venue_id}/${version}`, c.req.url).toString());

    let response = await cache.match(cacheKey);
    if (!response) {
      const kvKey = seatMapKvKey(venue_id, version);
      let { value: body, metadata } = await c.env.SEAT_MAPS.getWithMetadata<{ etag: string }>(kvKey);
      if (body === null || !metadata) {
        // KV is written with the version; it can only miss if a write was lost. Heal it once.
        const [row] = await withDatabase(c.env, (db) =>
          db
            .select({ document: seatMapVersions.document, etag: seatMapVersions.etag })
            .from(seatMapVersions)
            .where(and(eq(seatMapVersions.venueId, venue_id), eq(seatMapVersions.version, version))),
        );
        if (!row) throw notFound("Seat map");
        body = JSON.stringify(row.document);
        metadata = { etag: row.etag };
        await c.env.SEAT_MAPS.put(kvKey, body, { metadata });
      }
      response = new Response(body, {
        headers: { "content-type": "application/json", "cache-control": immutable, etag: metadata.etag },
      });
      c.executionCtx.waitUntil(cache.put(cacheKey, response.clone()));
    }

    const etag = response.headers.get("etag") ?? "";
    if (matches(c.req.header("if-none-match"), etag)) {
      return c.body(null, 304, { etag, "cache-control": immutable });
    }
    return c.body(await response.text(), 200, { etag, "cache-control": immutable, "content-type": "application/json" });
  },
);
