import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";
import { catalogHeaders, edgeCatalog } from "../catalog/edge-cache";
import { geometryUrl, loadShow } from "../catalog/queries";
import { id, Show } from "../catalog/schemas";
import { edgeOverlay } from "../catalog/seat-map-overlay";
import { requireKnownShow } from "../catalog/show-directory";
import { withDatabase } from "../db/client";
import { notFound } from "../lib/problem";
import { problemResponses } from "../lib/schemas";
import { edgeRoomStatus } from "../waiting-room/edge-status";

const SeatMapOverlay = z
  .object({
    show_id: z.string(),
    status: z.enum(["published", "cancelled"]),
    inventory: z.enum(["available", "all_held", "sold_out"]).openapi({
      description:
        "`all_held`: no seat available now, held seats may come back; `sold_out`: every seat sold or blocked (join the waitlist)",
    }),
    currency: z.string(),
    geometry: z.object({ venue_id: z.string(), version: z.number().int(), geometry_url: z.string() }),
    sections: z.array(
      z.object({
        section_id: z.string(),
        available: z.number().int(),
        total: z.number().int(),
        min_price_cents: z.number().int().nullable(),
      }),
    ),
    seats: z
      .array(
        z.object({
          seat_id: z.string(),
          status: z.enum(["available", "unavailable"]),
          tier_id: z.string(),
          price_cents: z.number().int(),
          accessible: z.boolean(),
        }),
      )
      .optional(),
    as_of_ms: z.number().int(),
  })
  .openapi("SeatMapOverlay");

const params = z.object({ show_id: id("shw") });

const FanShow = Show.extend({
  waiting_room: z.object({ enabled: z.boolean(), paused: z.boolean(), opens_at: z.string().nullable() }),
}).openapi("FanShow");

export const fanShows = createRouter();

fanShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}",
    tags: ["fans"],
    summary: "A show: venue, price tiers, on-sale time",
    request: { params },
    responses: {
      200: { description: "The show", content: { "application/json": { schema: FanShow } } },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { show_id } = c.req.valid("param");
    await requireKnownShow(c.env, show_id);
    // The show from the edge catalog cache (Postgres about once per location per 10 s, and
    // not at all while it is down); the waiting room's state is live, beside it.
    const [show, room] = await Promise.all([
      edgeCatalog(c.env, c.executionCtx, new URL(c.req.url).origin, `/shows/${show_id}`, () =>
        withDatabase(c.env, (db) => loadShow(db, show_id)),
      ),
      edgeRoomStatus(c.env, show_id),
    ]);
    for (const [name, value] of Object.entries(catalogHeaders(show.state, show.ageS))) c.header(name, value);
    c.header("cache-control", "public, max-age=5");
    return c.json(
      {
        ...show.body,
        waiting_room: {
          enabled: room?.enabled ?? false,
          paused: room?.paused ?? false,
          opens_at: room?.opens_at_ms ? new Date(room.opens_at_ms).toISOString() : null,
        },
      },
      200,
    );
  },
);

fanShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/seat-map",
    tags: ["fans"],
    summary: "Geometry reference plus live availability from the show's Durable Object",
    description:
      "Indicative only: up to about a second old (`as_of_ms`); a hold is the real check. Held, sold and blocked seats all read `unavailable`.",
    request: {
      params,
      query: z.strictObject({
        section: z
          .string()
          .regex(/^[A-Za-z0-9]{1,12}$/)
          .optional(),
      }),
    },
    responses: {
      200: { description: "The overlay", content: { "application/json": { schema: SeatMapOverlay } } },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { show_id } = c.req.valid("param");
    const { section } = c.req.valid("query");
    // Never Postgres, and the DO about once a second per location: this is what a crowd reloads.
    await requireKnownShow(c.env, show_id);
    const overlay = await edgeOverlay(c.env, new URL(c.req.url).origin, show_id, section);
    if (!overlay) throw notFound("Show");
    if (section !== undefined && !overlay.sections.some((s) => s.section_id === section)) throw notFound("Section");
    const { venue_id, seat_map_version, ...rest } = overlay;
    c.header("cache-control", "public, max-age=1, stale-while-revalidate=1");
    return c.json(
      {
        ...rest,
        geometry: { venue_id, version: seat_map_version, geometry_url: geometryUrl(venue_id, seat_map_version) },
      },
      200,
    );
  },
);
