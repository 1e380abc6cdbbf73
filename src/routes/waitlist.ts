import { createRoute, z } from "@hono/zod-openapi";
import type { WaitlistOutcome } from "../../durable-objects/types";
import { createRouter } from "../app";
import { id } from "../catalog/schemas";
import { showStub } from "../catalog/show-directory";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { fanAuth } from "../middleware/fan-auth";
import { verifyQueueTicket } from "../waiting-room/tokens";

const WaitlistEntry = z
  .object({
    fan_id: z.string(),
    quantity: z.number().int(),
    section_id: z.string().nullable(),
    status: z.enum(["waiting", "offered", "lapsed", "fulfilled", "left"]),
    position: z.number().int().nullable(),
    joined_at_ms: z.number().int(),
    offer_hold_id: z
      .string()
      .nullable()
      .openapi({ description: "While offered: a hold reserved for the fan; order it before it expires" }),
  })
  .openapi("WaitlistEntry");

const JoinWaitlist = z
  .strictObject({
    quantity: z.number().int().min(1).max(50),
    section_id: z
      .string()
      .regex(/^[A-Za-z0-9]{1,12}$/)
      .optional(),
  })
  .openapi("JoinWaitlist");

function refused(outcome: Extract<WaitlistOutcome, { ok: false }>): ApiError {
  switch (outcome.code) {
    case "show_not_found":
      return notFound("Show");
    case "show_cancelled":
      return new ApiError(409, "show_cancelled", "This show is cancelled");
    case "not_sold_out":
      return new ApiError(409, "not_sold_out", "Seats are still available: hold them instead");
    case "unknown_section":
      return new ApiError(422, "unknown_section", "This show has no such section");
    case "limit_exceeded":
      return new ApiError(409, "limit_exceeded", `At most ${outcome.limit} tickets per fan for this show`);
    case "show_not_on_sale":
      return new ApiError(409, "show_not_on_sale", "This show is not on sale yet", undefined, undefined, {
        on_sale_at_ms: outcome.on_sale_at_ms,
      });
    case "admission_required":
      return new ApiError(
        403,
        "admission_required",
        "This show has a waiting room: join the queue; once the show is sold out, send its Waiting-Room-Ticket to join the waitlist",
      );
  }
}

export const waitlist = createRouter();
waitlist.use("/shows/:show_id/waitlist", fanAuth());

const params = z.object({ show_id: id("shw") });
const entryResponse = { content: { "application/json": { schema: WaitlistEntry } } };

waitlist.openapi(
  createRoute({
    method: "post",
    path: "/shows/{show_id}/waitlist",
    tags: ["fans"],
    summary: "Join a sold-out show's (or section's) waitlist; seats that come back are offered in order",
    security: fanSecurity,
    request: {
      params,
      headers: z.object({
        "waiting-room-ticket": z.string().min(1).max(2048).optional().openapi({
          description:
            "With a waiting room on, the fan's queue ticket for this show (a place in line, or the sold-out answer to a join): the waitlist is only open to fans who came through the door and its bot check",
        }),
      }),
      body: { required: true, content: { "application/json": { schema: JoinWaitlist } } },
    },
    responses: {
      200: { description: "The fan's place", ...entryResponse },
      ...problemResponses(400, 401, 403, 404, 409, 415, 422, 429),
    },
  }),
  async (c) => {
    const { quantity, section_id } = c.req.valid("json");
    const showId = c.req.valid("param").show_id;
    const fan = c.var.fan!;
    const header = c.req.valid("header")["waiting-room-ticket"];
    const ticket = header ? await verifyQueueTicket(c.env, header) : null;
    if (ticket && ticket !== "expired" && (ticket.showId !== showId || ticket.fanId !== fan.id))
      throw new ApiError(403, "ticket_mismatch", "This waiting-room ticket is for another show or fan");
    const outcome = await (await showStub(c.env, showId)).joinWaitlist(
      fan.id,
      fan.email ?? null,
      quantity,
      section_id ?? null,
      ticket !== null && ticket !== "expired",
    );
    if (!outcome.ok) throw refused(outcome);
    return c.json(outcome.entry, 200);
  },
);

waitlist.openapi(
  createRoute({
    method: "get",
    path: "/shows/{show_id}/waitlist",
    tags: ["fans"],
    summary: "The fan's place on the waitlist, and any offer",
    security: fanSecurity,
    request: { params },
    responses: { 200: { description: "The fan's place", ...entryResponse }, ...problemResponses(401, 404, 429) },
  }),
  async (c) => {
    const entry = await (await showStub(c.env, c.req.valid("param").show_id)).waitlistStatus(c.var.fan!.id);
    if (!entry) throw notFound("Waitlist entry");
    return c.json(entry, 200);
  },
);

waitlist.openapi(
  createRoute({
    method: "delete",
    path: "/shows/{show_id}/waitlist",
    tags: ["fans"],
    summary: "Leave the waitlist (an outstanding offer moves on to the next fan)",
    security: fanSecurity,
    request: { params },
    responses: {
      200: { description: "The fan's entry, now left", ...entryResponse },
      ...problemResponses(401, 404, 429),
    },
  }),
  async (c) => {
    const entry = await (await showStub(c.env, c.req.valid("param").show_id)).leaveWaitlist(c.var.fan!.id);
    if (!entry) throw notFound("Waitlist entry");
    return c.json(entry, 200);
  },
);
