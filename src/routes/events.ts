import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, gte, ilike, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { catalogHeaders, edgeCatalog } from "../catalog/edge-cache";
import { cursor, loadEvent, loadEvents, loadShows } from "../catalog/queries";
import { Event, id, listOf, Show } from "../catalog/schemas";
import { type Database, withDatabase } from "../db/client";
import { events, shows, venues } from "../db/schema";
import { ApiError } from "../lib/problem";
import { problemResponses } from "../lib/schemas";
import { isWithin, SEARCH_RANGE } from "../lib/time";

const isoDate = z
  .string()
  .max(40)
  .refine((value) => !Number.isNaN(Date.parse(value)), "an ISO-8601 date or date-time")
  .refine(
    (value) => isWithin(SEARCH_RANGE, Date.parse(value)),
    `a date from ${SEARCH_RANGE.from} to before ${SEARCH_RANGE.to}`,
  )
  .openapi({ example: "2026-12-01" });

const EventQuery = z
  .strictObject({
    q: z.string().trim().min(1).max(200).optional(),
    city: z.string().trim().min(1).max(120).optional(),
    performer: z.string().trim().min(1).max(200).optional(),
    venue_id: id("ven").optional(),
    category: z.enum(["concert", "sports", "theatre", "comedy", "family", "festival", "other"]).optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    cursor: z.string().max(500).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: "from must not be after to",
    path: ["from"],
  });

const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const fanEvents = createRouter();

fanEvents.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["fans"],
    summary: "Search published events, ordered by their next show date",
    request: { query: EventQuery },
    responses: {
      200: { description: "A page of events", content: { "application/json": { schema: listOf(Event) } } },
      ...problemResponses(400),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const url = new URL(c.req.url);
    // Keyed by the validated query, so spellings of one search share an entry.
    const found = await edgeCatalog(c.env, c.executionCtx, url.origin, `/events?${stableQuery(query)}`, () =>
      withDatabase(c.env, (db) => searchEvents(db, query)),
    );
    for (const [name, value] of Object.entries(catalogHeaders(found.state, found.ageS))) c.header(name, value);
    c.header("cache-control", "public, max-age=30");
    return c.json(found.body, 200);
  },
);

function stableQuery(query: object) {
  const entries = Object.entries(query).filter(([, v]) => v !== undefined);
  return new URLSearchParams(entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, String(v)])).toString();
}

async function searchEvents(db: Database, query: z.infer<typeof EventQuery>) {
  {
    const after = query.cursor ? cursor.decode(query.cursor) : undefined;
    if (after === null) throw new ApiError(400, "invalid_cursor", "The cursor is not one this API issued");

    // An event is listed by the earliest of its published shows inside the date range.
    const showWindow: SQL[] = [eq(shows.status, "published")];
    if (query.from) showWindow.push(gte(shows.startsAt, new Date(query.from)));
    if (query.to) showWindow.push(lt(shows.startsAt, endOfDay(query.to)));
    const firstShow = db
      .select({ eventId: shows.eventId, at: sql<Date>`min(${shows.startsAt})`.as("at") })
      .from(shows)
      .where(and(...showWindow))
      .groupBy(shows.eventId)
      .as("first_show");

    const filters: SQL[] = [eq(events.status, "published")];
    if (query.city) filters.push(sql`lower(${venues.city}) = lower(${query.city})`);
    if (query.venue_id) filters.push(eq(events.venueId, query.venue_id));
    if (query.category) filters.push(eq(events.category, query.category));
    if (query.performer) {
      filters.push(sql`exists (select 1 from unnest(${events.performers}) p where p ilike ${like(query.performer)})`);
    }
    if (query.q) {
      const pattern = like(query.q);
      filters.push(
        or(
          ilike(events.name, pattern),
          ilike(events.description, pattern),
          ilike(venues.name, pattern),
          ilike(venues.city, pattern),
          sql`exists (select 1 from unnest(${events.performers}) p where p ilike ${pattern})`,
        )!,
      );
    }
    // Keyset pagination on (first show instant in microseconds, event id): stable under inserts.
    const atMicros = sql<string>`(extract(epoch from ${firstShow.at}) * 1000000)::bigint`;
    if (after) {
      filters.push(sql`(${atMicros}, ${events.id}) > (${after[0]}::bigint, ${after[1]})`);
    }
    const rows = await db
      .select({ id: events.id, at: sql<string>`${atMicros}::text` })
      .from(events)
      .innerJoin(venues, eq(venues.id, events.venueId))
      .innerJoin(firstShow, eq(firstShow.eventId, events.id))
      .where(and(...filters))
      .orderBy(atMicros, events.id)
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const loaded = page.length
      ? await loadEvents(
          db,
          inArray(
            events.id,
            page.map((row) => row.id),
          ),
        )
      : [];
    const byId = new Map(loaded.map((event) => [event.event_id, event]));
    const data = page.flatMap((row) => byId.get(row.id) ?? []);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? cursor.encode(last.at, last.id) : null;
    return { data, next_cursor: nextCursor };
  }
}

const params = z.object({ event_id: id("evt") });

fanEvents.openapi(
  createRoute({
    method: "get",
    path: "/{event_id}",
    tags: ["fans"],
    summary: "One published event",
    request: { params },
    responses: {
      200: { description: "The event", content: { "application/json": { schema: Event } } },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { event_id } = c.req.valid("param");
    const found = await edgeCatalog(c.env, c.executionCtx, new URL(c.req.url).origin, `/events/${event_id}`, () =>
      withDatabase(c.env, (db) => loadEvent(db, event_id)),
    );
    for (const [name, value] of Object.entries(catalogHeaders(found.state, found.ageS))) c.header(name, value);
    return c.json(found.body, 200);
  },
);

fanEvents.openapi(
  createRoute({
    method: "get",
    path: "/{event_id}/shows",
    tags: ["fans"],
    summary: "The event's published (and cancelled) shows, by date",
    request: { params },
    responses: {
      200: { description: "Its shows", content: { "application/json": { schema: listOf(Show) } } },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { event_id } = c.req.valid("param");
    const found = await edgeCatalog(c.env, c.executionCtx, new URL(c.req.url).origin, `/events/${event_id}/shows`, () =>
      withDatabase(c.env, async (db) => {
        const event = await loadEvent(db, event_id);
        return { data: await loadShows(db, eq(shows.eventId, event.event_id)), next_cursor: null };
      }),
    );
    for (const [name, value] of Object.entries(catalogHeaders(found.state, found.ageS))) c.header(name, value);
    return c.json(found.body, 200);
  },
);

/** A bare date as `to` includes that whole day. */
function endOfDay(value: string): Date {
  const date = new Date(value);
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(date.getTime() + 86_400_000) : date;
}
