import { z } from "@hono/zod-openapi";
import { and, desc, eq, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { events, orders, priceTiers, shows, tickets, venues } from "../db/schema";
import { signTicketBarcode } from "./barcode";
import { seatParts } from "./place";
import type { TicketDocument } from "./render";

export const TicketView = z
  .object({
    ticket_id: z.string(),
    order_id: z.string(),
    show_id: z.string(),
    seat_id: z.string().nullable().openapi({ description: "Null for a general-admission ticket" }),
    section: z.string(),
    row: z.string().nullable(),
    seat: z.string().nullable(),
    ga_number: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "A general-admission ticket's number within its section; null for a seat" }),
    tier: z.object({ tier_id: z.string(), name: z.string() }),
    price_cents: z.number().int(),
    currency: z.string(),
    status: z.enum(["valid", "void", "checked_in"]),
    checked_in_at: z.string().nullable(),
    event_name: z.string(),
    starts_at: z.string(),
    venue: z.object({ name: z.string(), city: z.string() }),
    barcode: z.string().nullable().openapi({ description: "Signed payload a gate verifies offline; null once void" }),
    qr_url: z.string(),
    pdf_url: z.string(),
  })
  .openapi("Ticket");
export type TicketView = z.infer<typeof TicketView>;

/** Where the ticket admits to: a seat's section, row and seat, or a GA section and number. */
function ticketPlace(ticket: TicketRow["ticket"]) {
  if (ticket.seatId === null)
    return { section: ticket.gaSectionId!, row: null, seat: null, ga_number: ticket.gaNumber! };
  return { ...seatParts(ticket.seatId), ga_number: null };
}

export async function loadTicketRows(db: Database, where: SQL, limit = 500) {
  return db
    .select({
      ticket: tickets,
      currency: orders.currency,
      tierName: priceTiers.name,
      eventName: events.name,
      performers: events.performers,
      startsAt: shows.startsAt,
      timezone: shows.timezone,
      venueName: venues.name,
      venueCity: venues.city,
    })
    .from(tickets)
    .innerJoin(orders, eq(orders.id, tickets.orderId))
    .innerJoin(priceTiers, eq(priceTiers.id, tickets.tierId))
    .innerJoin(shows, eq(shows.id, tickets.showId))
    .innerJoin(events, eq(events.id, shows.eventId))
    .innerJoin(venues, eq(venues.id, shows.venueId))
    .where(and(where))
    .orderBy(desc(tickets.createdAt), tickets.placeId)
    .limit(limit);
}
export type TicketRow = Awaited<ReturnType<typeof loadTicketRows>>[number];

export async function ticketView(env: Env, row: TicketRow): Promise<TicketView> {
  const { ticket } = row;
  const live = ticket.status !== "void";
  return {
    ticket_id: ticket.id,
    order_id: ticket.orderId,
    show_id: ticket.showId,
    seat_id: ticket.seatId,
    ...ticketPlace(ticket),
    tier: { tier_id: ticket.tierId, name: row.tierName },
    price_cents: ticket.priceCents,
    currency: row.currency,
    status: ticket.status as TicketView["status"],
    checked_in_at: ticket.checkedInAt?.toISOString() ?? null,
    event_name: row.eventName,
    starts_at: row.startsAt.toISOString(),
    venue: { name: row.venueName, city: row.venueCity },
    barcode: live
      ? await signTicketBarcode(env, {
          ticketId: ticket.id,
          showId: ticket.showId,
          seatId: ticket.placeId,
          version: ticket.barcodeVersion,
        })
      : null,
    qr_url: `/v1/tickets/${ticket.id}/qr.svg`,
    pdf_url: `/v1/tickets/${ticket.id}/pdf`,
  };
}

export function ticketDocument(row: TicketRow, barcode: string): TicketDocument {
  const { section, row: seatRow, seat, ga_number } = ticketPlace(row.ticket);
  return {
    ticketId: row.ticket.id,
    barcode,
    eventName: row.eventName,
    performers: row.performers,
    startsAt: row.startsAt,
    timeZone: row.timezone,
    venueName: row.venueName,
    venueCity: row.venueCity,
    section,
    row: seatRow ?? "",
    seat: seat ?? "",
    gaNumber: ga_number,
    tierName: row.tierName,
    priceCents: row.ticket.priceCents,
    currency: row.currency,
    holder: row.ticket.holderFanId,
  };
}
