import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { id, Venue } from "../catalog/schemas";
import { SeatMap, seatMapProblems } from "../catalog/seat-map";
import { storeSeatMapVersion } from "../catalog/seat-map-store";
import type { Database } from "../db/client";
import { venues } from "../db/schema";
import { newId } from "../lib/ids";
import { ApiError, notFound } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { isTimeZone } from "../lib/time";
import { organizerDatabase } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";

const CreateVenue = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    city: z.string().trim().min(1).max(120),
    country: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2, e.g. PT"),
    timezone: z.string().refine(isTimeZone, "an IANA time zone, e.g. Europe/Lisbon"),
    address: z.string().trim().max(500).optional(),
    seat_map: SeatMap,
  })
  .openapi("CreateVenue");

const SeatMapVersion = z
  .object({
    venue_id: z.string(),
    version: z.number().int(),
    etag: z.string(),
    geometry_url: z.string(),
    sections: z.number().int(),
    seats: z.number().int(),
  })
  .openapi("SeatMapVersion");

const VenueCreated = Venue.extend({ seat_map: SeatMapVersion }).openapi("VenueCreated");

/** The seat map as a whole must make sense; zod has checked each piece already. */
function assertSeatMap(map: SeatMap) {
  const problems = seatMapProblems(map);
  if (problems.length) {
    throw new ApiError(
      422,
      "invalid_seat_map",
      `The seat map has ${problems.length} problem(s)`,
      problems.map((p) => ({ ...p, path: `seat_map.${p.path}` })),
    );
  }
}

async function writeVersion(db: Pick<Database, "insert">, env: Env, venueId: string, version: number, map: SeatMap) {
  const { etag } = await storeSeatMapVersion(db, env, venueId, version, map);
  return {
    venue_id: venueId,
    version,
    etag,
    geometry_url: `/v1/seat-maps/${venueId}/${version}`,
    sections: map.sections.length,
    seats: map.sections.reduce((n, s) => n + s.rows.reduce((m, r) => m + r.seats.length, 0), 0),
  };
}

const venueView = (venue: typeof venues.$inferSelect) => ({
  venue_id: venue.id,
  name: venue.name,
  city: venue.city,
  country: venue.country,
  timezone: venue.timezone,
  address: venue.address,
  current_seat_map_version: venue.currentSeatMapVersion,
});

export const adminVenues = createRouter();
adminVenues.use("*", organizerDatabase(), organizerAuth());

adminVenues.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags: ["organizers"],
    summary: "Create a venue with its first seat map",
    security: organizerSecurity,
    request: { body: { required: true, content: { "application/json": { schema: CreateVenue } } } },
    responses: {
      201: { description: "The venue", content: { "application/json": { schema: VenueCreated } } },
      ...problemResponses(400, 401, 415, 422, 429),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    assertSeatMap(body.seat_map);
    const venueId = newId("ven");
    const created = await c.var.db!.transaction(async (tx) => {
      const [venue] = await tx
        .insert(venues)
        .values({
          id: venueId,
          organizerId: c.var.organizer!.id,
          name: body.name,
          city: body.city,
          country: body.country,
          timezone: body.timezone,
          address: body.address ?? null,
        })
        .returning();
      return { ...venueView(venue!), seat_map: await writeVersion(tx, c.env, venueId, 1, body.seat_map) };
    });
    return c.json(created, 201);
  },
);

adminVenues.openapi(
  createRoute({
    method: "get",
    path: "/{venue_id}",
    tags: ["organizers"],
    summary: "One of the organizer's venues",
    security: organizerSecurity,
    request: { params: z.object({ venue_id: id("ven") }) },
    responses: {
      200: { description: "The venue", content: { "application/json": { schema: Venue } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const [venue] = await c.var
      .db!.select()
      .from(venues)
      .where(and(eq(venues.id, c.req.valid("param").venue_id), eq(venues.organizerId, c.var.organizer!.id)));
    if (!venue) throw notFound("Venue");
    return c.json(venueView(venue), 200);
  },
);

adminVenues.openapi(
  createRoute({
    method: "post",
    path: "/{venue_id}/seat-maps",
    tags: ["organizers"],
    summary: "Add a new seat-map version (existing versions, and shows using them, never change)",
    security: organizerSecurity,
    request: {
      params: z.object({ venue_id: id("ven") }),
      body: { required: true, content: { "application/json": { schema: z.strictObject({ seat_map: SeatMap }) } } },
    },
    responses: {
      201: { description: "The new version", content: { "application/json": { schema: SeatMapVersion } } },
      ...problemResponses(400, 401, 404, 415, 422, 429),
    },
  }),
  async (c) => {
    const { seat_map } = c.req.valid("json");
    assertSeatMap(seat_map);
    const version = await c.var.db!.transaction(async (tx) => {
      // The row lock serializes concurrent uploads, so each gets its own version number.
      const [venue] = await tx
        .update(venues)
        .set({ currentSeatMapVersion: sql`${venues.currentSeatMapVersion} + 1` })
        .where(and(eq(venues.id, c.req.valid("param").venue_id), eq(venues.organizerId, c.var.organizer!.id)))
        .returning();
      if (!venue) throw notFound("Venue");
      return writeVersion(tx, c.env, venue.id, venue.currentSeatMapVersion, seat_map);
    });
    return c.json(version, 201);
  },
);
