import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../app";
import { events, orders, shows } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";
import { flushOutbox } from "../middleware/outbox";
import { idempotent } from "../orders/idempotency";
import { refundOrder } from "../orders/lifecycle";
import { loadOrderViews, OrderView } from "../orders/views";

export const adminOrders = createRouter();
adminOrders.use("*", database(), organizerAuth(), flushOutbox());

adminOrders.openapi(
  createRoute({
    method: "post",
    path: "/{order_id}/refund",
    tags: ["organizers"],
    summary: "Refund a confirmed order in full: money back, tickets void, seats back on sale",
    security: organizerSecurity,
    request: {
      params: z.object({ order_id: z.string().max(80) }),
      headers: z.object({ "idempotency-key": z.string().min(1).max(255) }),
    },
    responses: {
      200: { description: "The refunded order", content: { "application/json": { schema: OrderView } } },
      ...problemResponses(400, 401, 404, 409),
    },
  }),
  async (c) => {
    const { order_id } = c.req.valid("param");
    const db = c.var.db!;
    const organizerId = c.var.organizer!.id;
    const result = await idempotent(
      db,
      {
        scope: organizerId,
        route: "POST /v1/admin/orders/refund",
        key: c.req.valid("header")["idempotency-key"],
        body: { order_id },
      },
      async () => {
        const [row] = await db
          .select({ order: orders })
          .from(orders)
          .innerJoin(shows, eq(shows.id, orders.showId))
          .innerJoin(events, eq(events.id, shows.eventId))
          .where(and(eq(orders.id, order_id), eq(events.organizerId, organizerId)));
        if (!row) throw notFound("Order");
        if (row.order.status !== "confirmed" && row.order.status !== "refund_pending") {
          throw new ApiError(409, "order_not_refundable", `An order that is ${row.order.status} cannot be refunded`);
        }
        await refundOrder(c.env, db, row.order, "organizer_request");
        const [view] = await loadOrderViews(db, [order_id]);
        return { status: 200, body: view! };
      },
    );
    if (result.replayed) c.header("idempotent-replayed", "true");
    return c.json(result.body as OrderView, 200);
  },
);
