import { createRoute, z } from "@hono/zod-openapi";
import { compareKeys, drawKey } from "../../durable-objects/queue-key";
import type { PollOutcome, QueueSession, RoomOutcome, RoomStatus } from "../../durable-objects/types";
import { createRouter } from "../app";
import { requireTurnstile } from "../auth/turnstile";
import { id } from "../catalog/schemas";
import { requireKnownShow } from "../catalog/show-directory";
import { newId } from "../lib/ids";
import { observeAdmission } from "../lib/observe";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { fanAuth } from "../middleware/fan-auth";
import { recordArrival, recordHeartbeat } from "../waiting-room/edge-batches";
import { edgeRoomStatus } from "../waiting-room/edge-status";
import { estimatePlace } from "../waiting-room/position";
import { type QueueTicket, signAdmissionToken, signQueueTicket, verifyQueueTicket } from "../waiting-room/tokens";

/** A queue ticket lives this long; every answer renews it, at the edge or at the DO. */
const TICKET_TTL_MS = 5 * 60_000;
const MIN_POLL_MS = 1_000;
const MAX_POLL_MS = 10_000;

const WaitingRoomSession = z
  .object({
    session_id: z.string(),
    ticket: z.string().openapi({ description: "Send back as `Waiting-Room-Ticket` on every poll" }),
    status: z.enum(["waiting", "admitted", "expired", "sold_out"]).openapi({
      description:
        "`sold_out`: every seat is sold or blocked and none is held, so no turn can come; join the waitlist (`waitlist_url`). A place in line is kept: if seats come back and the waitlist leaves some, polls answer `waiting` again",
    }),
    inventory: z.enum(["available", "all_held", "sold_out"]).optional().openapi({
      description:
        "What the show has left, on `waiting` and `sold_out` answers. `all_held`: no seat is available now, but held seats may come back; nobody is admitted meanwhile, so the wait estimate holds only from when they do (no range is given)",
    }),
    waitlist_url: z
      .string()
      .optional()
      .openapi({ description: "On `sold_out`: where to join the show's waitlist (POST, see the waitlist routes)" }),
    position: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Estimated place in line (1 = next; 0 once admitted); null once the place ended" }),
    position_range: z
      .object({ low: z.number().int(), high: z.number().int() })
      .optional()
      .openapi({ description: "Where the place is, at about 95% confidence" }),
    estimated_wait_s: z.number().int(),
    estimated_wait_range_s: z.object({ low: z.number().int(), high: z.number().int() }).optional(),
    poll_after_ms: z.number().int(),
    server_time_ms: z.number().int(),
    admission_token: z.string().optional().openapi({ description: "Send as `Admission-Token` when holding seats" }),
    admission_expires_at_ms: z.number().int().optional(),
  })
  .openapi("WaitingRoomSession");
type WaitingRoomSession = z.infer<typeof WaitingRoomSession>;

function roomRefused(outcome: Extract<RoomOutcome<unknown> | PollOutcome, { ok: false }>): ApiError {
  if (outcome.code === "polling_too_fast") return tooFast(outcome.retry_after_ms);
  if (outcome.code === "show_not_found") return notFound("Show");
  if (outcome.code === "show_cancelled") return new ApiError(409, "show_cancelled", "This show is cancelled");
  return new ApiError(409, "waiting_room_disabled", "This show has no waiting room open; hold seats directly");
}

const tooFast = (retryAfterMs: number) =>
  new ApiError(429, "polling_too_fast", "Poll again after poll_after_ms", undefined, {
    "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });

/** Polls come faster near the front of the queue, slower far back. */
const pollAfter = (etaMs: number) => Math.round(Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, etaMs / 4)));

/**
 * Sold out: nothing can come back but a refund or an unblock, which the waitlist is served
 * first. The place (if any) is kept and the ticket renewed; the fan is pointed to the waitlist.
 */
async function answerSoldOut(env: Env, ticket: QueueTicket, now: number): Promise<WaitingRoomSession> {
  const renewed = await signQueueTicket(env, {
    ...ticket,
    nextPollAtMs: now + MAX_POLL_MS,
    expiresAtMs: now + TICKET_TTL_MS,
  });
  return {
    session_id: ticket.sessionId,
    ticket: renewed,
    status: "sold_out",
    inventory: "sold_out",
    waitlist_url: `/v1/shows/${ticket.showId}/waitlist`,
    position: null,
    estimated_wait_s: 0,
    poll_after_ms: MAX_POLL_MS,
    server_time_ms: now,
  };
}

/** The answer for a waiting place, from the room status the edge holds: no DO call. */
async function answerWaiting(
  env: Env,
  ticket: QueueTicket,
  room: RoomStatus,
  now: number,
): Promise<WaitingRoomSession> {
  if (room.inventory === "sold_out") return answerSoldOut(env, ticket, now);
  const allHeld = room.inventory === "all_held";
  const place = estimatePlace(ticket.key, room);
  const untilOpening = room.opened ? 0 : Math.max(0, (room.opens_at_ms ?? now) - now);
  const waitMs = (position: number) => untilOpening + (Math.max(0, position - 1) / room.admit_per_minute) * 60_000;
  const poll = room.paused ? MAX_POLL_MS : pollAfter(waitMs(place.low));
  const renewed = await signQueueTicket(env, { ...ticket, nextPollAtMs: now + poll, expiresAtMs: now + TICKET_TTL_MS });
  return {
    session_id: ticket.sessionId,
    ticket: renewed,
    status: "waiting",
    inventory: room.inventory,
    position: place.position,
    position_range: { low: place.low, high: place.high },
    estimated_wait_s: Math.ceil(waitMs(place.position) / 1000),
    // While everything is held, no wait can be promised: nobody moves until seats come back.
    ...(allHeld
      ? {}
      : {
          estimated_wait_range_s: {
            low: Math.floor(waitMs(place.low) / 1000),
            high: Math.ceil(waitMs(place.high) / 1000),
          },
        }),
    poll_after_ms: poll,
    server_time_ms: now,
  };
}

/** A place the DO settled (admitted, or ended), answered from the signed ticket alone. */
async function answerSettled(env: Env, ticket: QueueTicket, now: number): Promise<WaitingRoomSession> {
  const admittedUntil = ticket.admittedUntilMs ?? 0;
  const ticketOut = await signQueueTicket(env, {
    ...ticket,
    nextPollAtMs: now + MAX_POLL_MS,
    expiresAtMs: now + TICKET_TTL_MS,
  });
  const base = { session_id: ticket.sessionId, ticket: ticketOut, server_time_ms: now, poll_after_ms: MAX_POLL_MS };
  if (now >= admittedUntil) return { ...base, status: "expired", position: null, estimated_wait_s: 0 };
  return {
    ...base,
    status: "admitted",
    position: 0,
    estimated_wait_s: 0,
    admission_token: await signAdmissionToken(env, {
      fanId: ticket.fanId,
      showId: ticket.showId,
      sessionId: ticket.sessionId,
      expiresAtMs: admittedUntil,
    }),
    admission_expires_at_ms: admittedUntil,
  };
}

/** The answer for a place the DO has just reported on, with a renewed ticket. */
async function answerFromDo(
  env: Env,
  showId: string,
  session: QueueSession,
  room: RoomStatus,
): Promise<WaitingRoomSession> {
  const now = session.server_time_ms;
  const ticket: QueueTicket = {
    fanId: session.fan_id,
    showId,
    sessionId: session.session_id,
    key: session.key,
    nextPollAtMs: now,
    expiresAtMs: now + TICKET_TTL_MS,
    // A settled place is answered at the edge from now on: it never needs the DO again.
    ...(session.status === "admitted" ? { admittedUntilMs: session.admission_expires_at_ms! } : {}),
    ...(session.status === "expired" || session.status === "dropped" ? { ended: true } : {}),
  };
  if (session.status === "waiting") return answerWaiting(env, ticket, room, now);
  if (session.status === "admitted") observeAdmission(env, showId, now - session.joined_at_ms);
  return answerSettled(env, ticket, now);
}

/**
 * The Cloudflare location serving the request: its door collects the location's batches. Read
 * from the `CF-Ray` header Cloudflare sets on every request (`<ray id>-<location code>`), not
 * from `request.cf`, whose object the runtime builds on each access (measured: ~13 % of a join's
 * isolate time locally). Without the header (local development, tests) the door is "local".
 */
function locationOf(request: Request): string {
  const ray = request.headers.get("cf-ray");
  const colo = ray?.slice(ray.lastIndexOf("-") + 1);
  return colo && /^[A-Z]{3}$/.test(colo) ? colo : "local";
}

/**
 * Joining again returns the same place: from the ticket the device already holds, or from this
 * isolate's memory of the fan's recent join. (Across isolates and devices, the DO keeps one
 * live place per fan: the first arrival it takes.)
 */
const recentJoins = new Map<string, { ticket: QueueTicket; at: number }>();
const RECENT_JOIN_MS = 60_000;

function rememberJoin(ticket: QueueTicket, now: number) {
  recentJoins.set(`${ticket.showId}:${ticket.fanId}`, { ticket, at: now });
  if (recentJoins.size > 50_000) recentJoins.delete(recentJoins.keys().next().value!);
}

async function existingPlace(
  env: Env,
  header: string | undefined,
  showId: string,
  fanId: string,
  room: RoomStatus,
  now: number,
): Promise<QueueTicket | null> {
  if (header) {
    const held = await verifyQueueTicket(env, header).catch(() => null);
    if (held && held !== "expired" && held.showId === showId && held.fanId === fanId && !held.ended) return held;
  }
  // Only a place still waiting for its turn: one whose turn came may have ended since.
  const recent = recentJoins.get(`${showId}:${fanId}`);
  if (!recent || now - recent.at >= RECENT_JOIN_MS) return null;
  return room.watermark && compareKeys(recent.ticket.key, room.watermark) <= 0 ? null : recent.ticket;
}

const JoinRequest = z
  .strictObject({
    show_id: id("shw"),
    turnstile_token: z.string().min(1).max(2048).optional().openapi({
      description:
        "The Turnstile widget's token; required (403 challenge_failed without it) when Turnstile is configured",
    }),
  })
  .openapi("JoinWaitingRoom");

export const waitingRoom = createRouter();
waitingRoom.use("*", fanAuth());

waitingRoom.openapi(
  createRoute({
    method: "post",
    path: "/sessions",
    tags: ["fans"],
    summary: "Join a show's waiting room (joining again returns the same place)",
    security: fanSecurity,
    request: {
      body: { required: true, content: { "application/json": { schema: JoinRequest } } },
    },
    responses: {
      201: { description: "A new place in the queue", content: { "application/json": { schema: WaitingRoomSession } } },
      200: {
        description: "The fan's existing place; or `sold_out` and no place, when the show is sold out",
        content: { "application/json": { schema: WaitingRoomSession } },
      },
      ...problemResponses(401, 403, 404, 409, 415, 422, 429, 503),
    },
  }),
  async (c) => {
    const { show_id, turnstile_token } = c.req.valid("json");
    await requireTurnstile(c.env, turnstile_token, c.req.header("cf-connecting-ip"));
    const fanId = c.var.fan!.id;
    const show = await requireKnownShow(c.env, show_id);
    if (show.status === "cancelled") throw new ApiError(409, "show_cancelled", "This show is cancelled");
    const room = await edgeRoomStatus(c.env, show_id);
    if (!room) throw notFound("Show");
    if (!room.enabled) throw roomRefused({ ok: false, code: "room_disabled" });
    c.header("cache-control", "no-store");
    const now = Date.now();
    const known = await existingPlace(c.env, c.req.header("waiting-room-ticket"), show_id, fanId, room, now);
    if (known) {
      const answer =
        known.admittedUntilMs !== undefined ? answerSettled(c.env, known, now) : answerWaiting(c.env, known, room, now);
      return c.json(await answer, 200);
    }
    if (room.inventory === "sold_out") {
      // No place for a turn that cannot come: the ticket is an ended one, polled as sold out
      // while the show stays sold out (and as expired after, so the fan joins again).
      const ended: QueueTicket = {
        fanId,
        showId: show_id,
        sessionId: newId("wrs"),
        key: drawKey(now, false),
        nextPollAtMs: now,
        expiresAtMs: now + TICKET_TTL_MS,
        ended: true,
      };
      return c.json(await answerSoldOut(c.env, ended, now), 200);
    }
    // Answered here: the key is drawn, the ticket signed, and the DO told in a batch.
    const ticket: QueueTicket = {
      fanId,
      showId: show_id,
      sessionId: newId("wrs"),
      key: drawKey(now, !room.opened && room.opens_at_ms !== null && now < room.opens_at_ms),
      nextPollAtMs: now,
      expiresAtMs: now + TICKET_TTL_MS,
    };
    recordArrival(c.env, c.executionCtx, show_id, locationOf(c.req.raw), {
      session_id: ticket.sessionId,
      fan_id: fanId,
      key: ticket.key,
      arrived_at_ms: now,
    });
    rememberJoin(ticket, now);
    return c.json(await answerWaiting(c.env, ticket, room, now), 201);
  },
);

waitingRoom.openapi(
  createRoute({
    method: "get",
    path: "/sessions/{session_id}",
    tags: ["fans"],
    summary: "Poll a place in the queue; answered at the edge unless the fan's turn may have come",
    security: fanSecurity,
    request: {
      params: z.object({ session_id: id("wrs") }),
      headers: z.object({ "waiting-room-ticket": z.string().min(1).max(2048) }),
    },
    responses: {
      200: { description: "Where the fan stands", content: { "application/json": { schema: WaitingRoomSession } } },
      ...problemResponses(400, 401, 403, 404, 429),
    },
  }),
  async (c) => {
    const { session_id } = c.req.valid("param");
    const fanId = c.var.fan!.id;
    const ticket = await verifyQueueTicket(c.env, c.req.valid("header")["waiting-room-ticket"]);
    if (ticket === "expired") {
      throw new ApiError(401, "ticket_expired", "The waiting-room ticket expired; join again to get your place back");
    }
    if (ticket.sessionId !== session_id)
      throw new ApiError(403, "ticket_mismatch", "This ticket is for another session");
    if (ticket.fanId !== fanId) throw new ApiError(403, "ticket_mismatch", "This ticket belongs to another fan");
    c.header("cache-control", "no-store");

    const now = Date.now();
    if (now < ticket.nextPollAtMs - 250) throw tooFast(ticket.nextPollAtMs - now);
    if (ticket.admittedUntilMs !== undefined) return c.json(await answerSettled(c.env, ticket, now), 200);
    const room = await edgeRoomStatus(c.env, ticket.showId);
    if (!room) throw notFound("Show");
    if (ticket.ended) {
      const answer =
        room.inventory === "sold_out" ? answerSoldOut(c.env, ticket, now) : answerSettled(c.env, ticket, now);
      return c.json(await answer, 200);
    }
    if (!room.enabled) throw new ApiError(409, "waiting_room_disabled", "This show's waiting room is closed");

    // Only a place whose turn may have come needs the DO; that the fan is still there reaches
    // the DO in batched heartbeats.
    // Sold out is told from the status too, whatever the watermark: no turn is coming.
    if (room.inventory === "sold_out" || !room.watermark || compareKeys(ticket.key, room.watermark) > 0) {
      recordHeartbeat(c.env, c.executionCtx, ticket.showId, locationOf(c.req.raw), { fan_id: fanId, session_id });
      return c.json(await answerWaiting(c.env, ticket, room, now), 200);
    }
    const outcome = await c.env.SHOW.getByName(ticket.showId).pollQueue(fanId, session_id, ticket.key);
    if (!outcome.ok) throw roomRefused(outcome);
    if (!outcome.value) throw notFound("Waiting-room session");
    return c.json(await answerFromDo(c.env, ticket.showId, outcome.value, room), 200);
  },
);
