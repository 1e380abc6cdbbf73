import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { cursor, loadEvent, loadEvents, loadShow, loadShows } from "../catalog/queries";
import { categories, Event, id, listOf, Show } from "../catalog/schemas";
import { flattenSeats, type SeatMap } from "../catalog/seat-map";
import { events, priceTiers, seatMapVersions, shows, venues } from "../db/schema";
import { newId } from "../lib/ids";
import { ApiError, notFound, type ProblemFieldError } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { isTimeZone, isWithin, parseZonedDateTime, SCHEDULE_RANGE } from "../lib/time";
import { organizerDatabase } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";

const performers = z.array(z.string().trim().min(1).max(200)).max(50);

const CreateEvent = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(10_000).default(""),
    category: z.enum(categories),
    performers: performers.default([]),
    venue_id: id("ven"),
  })
  .openapi("CreateEvent");

const UpdateEvent = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(10_000),
    category: z.enum(categories),
    performers,
    venue_id: id("ven"),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, "send at least one field")
  .openapi("UpdateEvent");

const localOrIso = z
  .string()
  .openapi({ description: "ISO-8601 with offset, or venue wall-clock time such as 2026-12-31T20:00" });

const CreateShow = z
  .strictObject({
    starts_at: localOrIso,
    on_sale_at: localOrIso,
    timezone: z.string().refine(isTimeZone, "an IANA time zone").optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "ISO 4217, e.g. EUR")
      .default("USD"),
    ticket_limit: z.number().int().min(1).max(50).default(8),
    hold_ttl_s: z.number().int().min(60).max(3600).default(600),
    seat_map_version: z.number().int().min(1).optional(),
    price_tiers: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1).max(100),
          price_cents: z.number().int().min(0).max(100_000_000),
          sections: z.array(z.string().min(1).max(12)).max(2000).default([]),
          seats: z.array(z.string().min(1).max(40)).max(150_000).default([]),
        }),
      )
      .min(1)
      .max(50),
  })
  .openapi("CreateShow");

/** Every tier must cover something that exists, and no two tiers may claim the same thing. */
function tierProblems(tiers: z.infer<typeof CreateShow>["price_tiers"], map: SeatMap): ProblemFieldError[] {
  const problems: ProblemFieldError[] = [];
  const sectionIds = new Set(map.sections.map((s) => s.id));
  const seatIds = new Set(flattenSeats(map).map((s) => s.seat_id));
  const names = new Set<string>();
  const sectionOwner = new Map<string, number>();
  const seatOwner = new Map<string, number>();
  tiers.forEach((tier, t) => {
    const at = `price_tiers.${t}`;
    if (names.has(tier.name)) problems.push({ path: `${at}.name`, message: `duplicate tier name ${tier.name}` });
    names.add(tier.name);
    if (tier.sections.length === 0 && tier.seats.length === 0) {
      problems.push({ path: at, message: "a tier must cover at least one section or seat" });
    }
    tier.sections.forEach((sectionId, i) => {
      if (!sectionIds.has(sectionId))
        problems.push({ path: `${at}.sections.${i}`, message: `unknown section ${sectionId}` });
      else if (sectionOwner.has(sectionId) && sectionOwner.get(sectionId) !== t) {
        problems.push({ path: `${at}.sections.${i}`, message: `section ${sectionId} is already in another tier` });
      }
      sectionOwner.set(sectionId, t);
    });
    tier.seats.forEach((seatId, i) => {
      if (!seatIds.has(seatId)) problems.push({ path: `${at}.seats.${i}`, message: `unknown seat ${seatId}` });
      else if (seatOwner.has(seatId) && seatOwner.get(seatId) !== t) {
        problems.push({ path: `${at}.seats.${i}`, message: `seat ${seatId} is already in another tier` });
      }
      seatOwner.set(seatId, t);
    });
  });
  return problems.slice(0, 1000);
}

export const adminEvents = createRouter();
adminEvents.use("*", organizerDatabase(), organizerAuth());

const eventParams = z.object({ event_id: id("evt") });

const OrganizerEvent = Event.extend({
  shows: z.array(Show).openapi({ description: "Every show of the event, in any state, by date" }),
}).openapi("OrganizerEvent");

const OrganizerEventQuery = z.strictObject({
  status: z.enum(["draft", "published", "cancelled"]).optional().openapi({ description: "Only events in this state" }),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

adminEvents.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["organizers"],
    summary: "The organizer's events with their shows, in any state, newest first",
    security: organizerSecurity,
    request: { query: OrganizerEventQuery },
    responses: {
      200: { description: "A page of events", content: { "application/json": { schema: listOf(OrganizerEvent) } } },
      ...problemResponses(400, 401, 429),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const organizerId = c.var.organizer!.id;
    const db = c.var.db!;
    const after = query.cursor ? cursor.decode(query.cursor) : undefined;
    if (after === null) throw new ApiError(400, "invalid_cursor", "The cursor is not one this API issued");
    // Keyset pagination on (creation instant in microseconds, event id), newest first.
    const atMicros = sql<string>`(extract(epoch from ${events.createdAt}) * 1000000)::bigint`;
    const filters: SQL[] = [eq(events.organizerId, organizerId)];
    if (query.status) filters.push(eq(events.status, query.status));
    if (after) filters.push(sql`(${atMicros}, ${events.id}) < (${after[0]}::bigint, ${after[1]})`);
    const rows = await db
      .select({ id: events.id, at: sql<string>`${atMicros}::text` })
      .from(events)
      .where(and(...filters))
      .orderBy(desc(atMicros), desc(events.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const ids = page.map((row) => row.id);
    const [loaded, eventShows] = ids.length
      ? await Promise.all([
          loadEvents(db, inArray(events.id, ids), { organizerId }),
          loadShows(db, inArray(shows.eventId, ids), { organizerId }),
        ])
      : [[], []];
    const byId = new Map(loaded.map((event) => [event.event_id, event]));
    const data = page.flatMap((row) => {
      const event = byId.get(row.id);
      return event ? [{ ...event, shows: eventShows.filter((show) => show.event_id === row.id) }] : [];
    });
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? cursor.encode(last.at, last.id) : null;
    c.header("cache-control", "private, no-store");
    return c.json({ data, next_cursor: nextCursor }, 200);
  },
);

adminEvents.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags: ["organizers"],
    summary: "Create an event at one of the organizer's venues",
    security: organizerSecurity,
    request: { body: { required: true, content: { "application/json": { schema: CreateEvent } } } },
    responses: {
      201: { description: "The event", content: { "application/json": { schema: Event } } },
      ...problemResponses(400, 401, 404, 415, 422, 429),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const organizerId = c.var.organizer!.id;
    const db = c.var.db!;
    const [venue] = await db
      .select({ id: venues.id })
      .from(venues)
      .where(and(eq(venues.id, body.venue_id), eq(venues.organizerId, organizerId)));
    if (!venue) throw notFound("Venue");
    const eventId = newId("evt");
    await db.insert(events).values({
      id: eventId,
      organizerId,
      venueId: venue.id,
      name: body.name,
      description: body.description,
      category: body.category,
      performers: body.performers,
    });
    return c.json(await loadEvent(db, eventId, { organizerId }), 201);
  },
);

adminEvents.openapi(
  createRoute({
    method: "get",
    path: "/{event_id}",
    tags: ["organizers"],
    summary: "One of the organizer's events, in any state",
    security: organizerSecurity,
    request: { params: eventParams },
    responses: {
      200: { description: "The event", content: { "application/json": { schema: Event } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) =>
    c.json(await loadEvent(c.var.db!, c.req.valid("param").event_id, { organizerId: c.var.organizer!.id }), 200),
);

adminEvents.openapi(
  createRoute({
    method: "patch",
    path: "/{event_id}",
    tags: ["organizers"],
    summary: "Edit an event (its venue only while it has no shows)",
    security: organizerSecurity,
    request: {
      params: eventParams,
      body: { required: true, content: { "application/json": { schema: UpdateEvent } } },
    },
    responses: {
      200: { description: "The event", content: { "application/json": { schema: Event } } },
      ...problemResponses(400, 401, 404, 409, 415, 422, 429),
    },
  }),
  async (c) => {
    const { event_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const organizerId = c.var.organizer!.id;
    await c.var.db!.transaction(async (tx) => {
      const [event] = await tx
        .select({ id: events.id, venueId: events.venueId })
        .from(events)
        .where(and(eq(events.id, event_id), eq(events.organizerId, organizerId)))
        .for("update");
      if (!event) throw notFound("Event");
      if (body.venue_id && body.venue_id !== event.venueId) {
        const [venue] = await tx
          .select({ id: venues.id })
          .from(venues)
          .where(and(eq(venues.id, body.venue_id), eq(venues.organizerId, organizerId)));
        if (!venue) throw notFound("Venue");
        const [show] = await tx.select({ id: shows.id }).from(shows).where(eq(shows.eventId, event.id)).limit(1);
        if (show) throw new ApiError(409, "event_has_shows", "An event with shows cannot move to another venue");
      }
      await tx
        .update(events)
        .set({
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.category !== undefined ? { category: body.category } : {}),
          ...(body.performers !== undefined ? { performers: body.performers } : {}),
          ...(body.venue_id !== undefined ? { venueId: body.venue_id } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(events.id, event.id));
    });
    return c.json(await loadEvent(c.var.db!, event_id, { organizerId }), 200);
  },
);

adminEvents.openapi(
  createRoute({
    method: "post",
    path: "/{event_id}/shows",
    tags: ["organizers"],
    summary: "Create a draft show with its price tiers",
    security: organizerSecurity,
    request: {
      params: eventParams,
      body: { required: true, content: { "application/json": { schema: CreateShow } } },
    },
    responses: {
      201: { description: "The show (draft until published)", content: { "application/json": { schema: Show } } },
      ...problemResponses(400, 401, 404, 415, 422, 429),
    },
  }),
  async (c) => {
    const { event_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const organizerId = c.var.organizer!.id;
    const db = c.var.db!;
    const [event] = await db
      .select({
        id: events.id,
        venueId: events.venueId,
        timezone: venues.timezone,
        version: venues.currentSeatMapVersion,
      })
      .from(events)
      .innerJoin(venues, eq(venues.id, events.venueId))
      .where(and(eq(events.id, event_id), eq(events.organizerId, organizerId)));
    if (!event) throw notFound("Event");

    const timezone = body.timezone ?? event.timezone;
    const startsAt = parseZonedDateTime(body.starts_at, timezone);
    const onSaleAt = parseZonedDateTime(body.on_sale_at, timezone);
    const problems: ProblemFieldError[] = [];
    const scheduled = `from ${SCHEDULE_RANGE.from} to before ${SCHEDULE_RANGE.to}`;
    if (!startsAt) problems.push({ path: "starts_at", message: "not an ISO-8601 date-time" });
    else if (!isWithin(SCHEDULE_RANGE, startsAt)) problems.push({ path: "starts_at", message: scheduled });
    if (!onSaleAt) problems.push({ path: "on_sale_at", message: "not an ISO-8601 date-time" });
    else if (!isWithin(SCHEDULE_RANGE, onSaleAt)) problems.push({ path: "on_sale_at", message: scheduled });
    if (startsAt && startsAt.getTime() <= Date.now())
      problems.push({ path: "starts_at", message: "must be in the future" });
    if (startsAt && onSaleAt && onSaleAt > startsAt) {
      problems.push({ path: "on_sale_at", message: "must not be after starts_at" });
    }
    const version = body.seat_map_version ?? event.version;
    const [seatMap] = await db
      .select({ document: seatMapVersions.document })
      .from(seatMapVersions)
      .where(and(eq(seatMapVersions.venueId, event.venueId), eq(seatMapVersions.version, version)));
    if (!seatMap) problems.push({ path: "seat_map_version", message: `the venue has no seat map version ${version}` });
    else problems.push(...tierProblems(body.price_tiers, seatMap.document as SeatMap));
    if (problems.length) throw new ApiError(422, "invalid_show", "The show cannot be created as sent", problems);

    const showId = newId("shw");
    await db.transaction(async (tx) => {
      await tx.insert(shows).values({
        id: showId,
        eventId: event.id,
        venueId: event.venueId,
        seatMapVersion: version,
        startsAt: startsAt!,
        onSaleAt: onSaleAt!,
        timezone,
        currency: body.currency,
        ticketLimit: body.ticket_limit,
        holdTtlSeconds: body.hold_ttl_s,
      });
      await tx.insert(priceTiers).values(
        body.price_tiers.map((tier, i) => ({
          id: newId("tir"),
          showId,
          name: tier.name,
          priceCents: tier.price_cents,
          currency: body.currency,
          sectionIds: tier.sections,
          seatIds: tier.seats,
          sortOrder: i,
        })),
      );
    });
    return c.json(await loadShow(db, showId, { organizerId }), 201);
  },
);
