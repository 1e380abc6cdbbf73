import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { cursor } from "../catalog/queries";
import { listOf } from "../catalog/schemas";
import { orders, tickets } from "../db/schema";
import { ApiError } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { fanAuth } from "../middleware/fan-auth";
import { loadOrderViews, OrderView } from "../orders/views";
import { loadTicketRows, TicketView, ticketView } from "../tickets/views";

const Me = z.object({ fan_id: z.string() }).openapi("Me");

export const me = createRouter();
me.use("*", fanAuth());
me.use("/orders", database());
me.use("/tickets", database());

me.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["fans"],
    summary: "The fan the bearer token identifies",
    security: fanSecurity,
    responses: {
      200: { description: "The fan", content: { "application/json": { schema: Me } } },
      ...problemResponses(401),
    },
  }),
  (c) => c.json({ fan_id: c.var.fan!.id }, 200),
);

me.openapi(
  createRoute({
    method: "get",
    path: "/orders",
    tags: ["fans"],
    summary: "The fan's order history, newest first",
    security: fanSecurity,
    request: {
      query: z.strictObject({
        cursor: z.string().max(500).optional(),
        limit: z.coerce.number().int().min(1).max(50).default(20),
      }),
    },
    responses: {
      200: { description: "A page of orders", content: { "application/json": { schema: listOf(OrderView) } } },
      ...problemResponses(400, 401),
    },
  }),
  async (c) => {
    const { cursor: after, limit } = c.req.valid("query");
    const position = after ? cursor.decode(after) : undefined;
    if (position === null) throw new ApiError(400, "invalid_cursor", "The cursor is not one this API issued");
    // Newest first, keyed on (created_at in microseconds, id) so equal timestamps page cleanly.
    const createdMicros = sql<string>`(extract(epoch from ${orders.createdAt}) * 1000000)::bigint`;
    const rows = await c.var
      .db!.select({ id: orders.id, at: sql<string>`${createdMicros}::text` })
      .from(orders)
      .where(
        and(
          eq(orders.fanId, c.var.fan!.id),
          position ? sql`(${createdMicros}, ${orders.id}) < (${position[0]}::bigint, ${position[1]})` : undefined,
        ),
      )
      .orderBy(desc(createdMicros), desc(orders.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        data: await loadOrderViews(
          c.var.db!,
          page.map((row) => row.id),
        ),
        next_cursor: rows.length > limit && last ? cursor.encode(last.at, last.id) : null,
      },
      200,
    );
  },
);

me.openapi(
  createRoute({
    method: "get",
    path: "/tickets",
    tags: ["fans"],
    summary: "The fan's tickets, newest first, each with its signed barcode",
    security: fanSecurity,
    responses: {
      200: { description: "Tickets", content: { "application/json": { schema: listOf(TicketView) } } },
      ...problemResponses(401),
    },
  }),
  async (c) => {
    const rows = await loadTicketRows(c.var.db!, eq(tickets.holderFanId, c.var.fan!.id));
    return c.json({ data: await Promise.all(rows.map((row) => ticketView(c.env, row))), next_cursor: null }, 200);
  },
);
