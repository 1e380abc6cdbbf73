import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../app";
import { tickets } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { fanAuth } from "../middleware/fan-auth";
import { ticketPdf, ticketQrSvg } from "../tickets/render";
import { loadTicketRows, TicketView, ticketDocument, ticketView } from "../tickets/views";

export const fanTickets = createRouter();
fanTickets.use("*", fanAuth(), database());

const params = z.object({ ticket_id: z.string().max(80) });

/** The holder's ticket row; anybody else's ticket does not exist for them. */
async function ownTicket(c: { var: { db?: unknown; fan?: { id: string } } }, ticketId: string) {
  const db = c.var.db as Parameters<typeof loadTicketRows>[0];
  const [row] = await loadTicketRows(db, and(eq(tickets.id, ticketId), eq(tickets.holderFanId, c.var.fan!.id))!, 1);
  if (!row) throw notFound("Ticket");
  return row;
}

fanTickets.openapi(
  createRoute({
    method: "get",
    path: "/{ticket_id}",
    tags: ["fans"],
    summary: "One of the fan's tickets, with its signed barcode",
    security: fanSecurity,
    request: { params },
    responses: {
      200: { description: "The ticket", content: { "application/json": { schema: TicketView } } },
      ...problemResponses(401, 404),
    },
  }),
  async (c) => c.json(await ticketView(c.env, await ownTicket(c, c.req.valid("param").ticket_id)), 200),
);

fanTickets.openapi(
  createRoute({
    method: "get",
    path: "/{ticket_id}/qr.svg",
    tags: ["fans"],
    summary: "The ticket's QR code (SVG)",
    security: fanSecurity,
    request: { params },
    responses: {
      200: { description: "QR code", content: { "image/svg+xml": { schema: z.string() } } },
      ...problemResponses(401, 404, 409),
    },
  }),
  async (c) => {
    const view = await ticketView(c.env, await ownTicket(c, c.req.valid("param").ticket_id));
    if (!view.barcode) throw new ApiError(409, "ticket_void", "This ticket is void");
    return c.body(await ticketQrSvg(view.barcode), 200, {
      "content-type": "image/svg+xml",
      "cache-control": "private, no-store",
    });
  },
);

fanTickets.openapi(
  createRoute({
    method: "get",
    path: "/{ticket_id}/pdf",
    tags: ["fans"],
    summary: "A one-page PDF ticket",
    security: fanSecurity,
    request: { params },
    responses: {
      200: { description: "PDF", content: { "application/pdf": { schema: z.string().openapi({ format: "binary" }) } } },
      ...problemResponses(401, 404, 409),
    },
  }),
  async (c) => {
    const row = await ownTicket(c, c.req.valid("param").ticket_id);
    const view = await ticketView(c.env, row);
    if (!view.barcode) throw new ApiError(409, "ticket_void", "This ticket is void");
    const pdf = await ticketPdf(ticketDocument(row, view.barcode));
    return c.body(pdf.slice().buffer as ArrayBuffer, 200, {
      "content-type": "application/pdf",
      "content-disposition": `inline; filename="${row.ticket.id}.pdf"`,
      "cache-control": "private, no-store",
    });
  },
);
