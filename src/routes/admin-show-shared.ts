import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { id } from "../catalog/schemas";
import type { Database } from "../db/client";
import { events, shows } from "../db/schema";
import { notFound } from "../lib/problem";

// What the organizer routes of one show share: its path parameter and the ownership check.

export const showParams = z.object({ show_id: id("shw") });

export const SeatCounts = z
  .object({
    available: z.number().int(),
    held: z.number().int(),
    sold: z.number().int(),
    blocked: z.number().int(),
    capacity: z.number().int(),
  })
  .openapi("SeatCounts");

/** The show, if it belongs to the caller's organizer; any other id is simply not found. */
export async function ownShow(db: Database, showId: string, organizerId: string) {
  const [show] = await db
    .select({ id: shows.id, status: shows.status, eventId: shows.eventId })
    .from(shows)
    .innerJoin(events, eq(events.id, shows.eventId))
    .where(and(eq(shows.id, showId), eq(events.organizerId, organizerId)));
  if (!show) throw notFound("Show");
  return show;
}
