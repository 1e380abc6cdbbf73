import { createRoute, z } from "@hono/zod-openapi";
import type { PollOutcome, QueueSession, RoomOutcome } from "../../durable-objects/types";
import { createRouter } from "../app";
import { requireTurnstile } from "../auth/turnstile";
import { id } from "../catalog/schemas";
import { showStub } from "../catalog/show-directory";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { fanAuth } from "../middleware/fan-auth";
import { edgeRoomStatus } from "../waiting-room/edge-status";
import { recordHeartbeat } from "../waiting-room/heartbeats";
import { type QueueTicket, signAdmissionToken, signQueueTicket, verifyQueueTicket } from "../waiting-room/tokens";

/** A queue ticket lives this long; every answer renews it, at the edge or at the DO. */
const TICKET_TTL_MS = 5 * 60_000;
const MIN_POLL_MS = 1_000;
const MAX_POLL_MS = 10_000;

const WaitingRoomSession = z
  .object({
    session_id: z.string(),
    ticket: z.string().openapi({ description: "Send back as `Waiting-Room-Ticket` on every poll" }),
    status: z.enum(["waiting", "admitted", "expired"]),
    position: z.number().int().nullable().openapi({ description: "Null in the pre-queue, before opening" }),
    estimated_wait_s: z.number().int(),
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

/** The answer for a place the DO has just reported on, with a renewed ticket. */
async function answerFromDo(env: Env, showId: string, session: QueueSession): Promise<WaitingRoomSession> {
  const now = session.server_time_ms;
  const waitingAhead = session.seq === null ? null : Math.max(1, session.seq - session.watermark);
  const etaMs =
    session.seq === null
      ? Math.max(0, (session.opens_at_ms ?? now) - now)
      : ((waitingAhead ?? 0) / session.admit_per_minute) * 60_000;
  const poll = session.status === "waiting" ? pollAfter(etaMs) : MAX_POLL_MS;
  const ticket = await signQueueTicket(env, {
    fanId: session.fan_id,
    showId,
    sessionId: session.session_id,
    seq: session.seq,
    nextPollAtMs: now + poll,
    expiresAtMs: now + TICKET_TTL_MS,
    // A settled place is answered at the edge from now on: it never needs the DO again.
    ...(session.status === "admitted" ? { admittedUntilMs: session.admission_expires_at_ms! } : {}),
    ...(session.status === "expired" || session.status === "dropped" ? { ended: true } : {}),
  });
  const base = { session_id: session.session_id, ticket, server_time_ms: now, poll_after_ms: poll };
  if (session.status === "admitted") {
    const expiresAt = session.admission_expires_at_ms!;
    return {
      ...base,
      status: "admitted",
      position: 0,
      estimated_wait_s: 0,
      admission_token: await signAdmissionToken(env, {
        fanId: session.fan_id,
        showId,
        sessionId: session.session_id,
        expiresAtMs: expiresAt,
      }),
      admission_expires_at_ms: expiresAt,
    };
  }
  if (session.status !== "waiting") return { ...base, status: "expired", position: null, estimated_wait_s: 0 };
  return { ...base, status: "waiting", position: waitingAhead, estimated_wait_s: Math.ceil(etaMs / 1000) };
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
      200: { description: "The fan's existing place", content: { "application/json": { schema: WaitingRoomSession } } },
      ...problemResponses(401, 403, 404, 409, 415, 422, 429, 503),
    },
  }),
  async (c) => {
    const { show_id, turnstile_token } = c.req.valid("json");
    await requireTurnstile(c.env, turnstile_token, c.req.header("cf-connecting-ip"));
    const outcome = await (await showStub(c.env, show_id)).joinQueue(c.var.fan!.id);
    if (!outcome.ok) throw roomRefused(outcome);
    c.header("cache-control", "no-store");
    return c.json(await answerFromDo(c.env, show_id, outcome.value), outcome.value.created ? 201 : 200);
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
    if (ticket.admittedUntilMs !== undefined || ticket.ended)
      return c.json(await answerSettled(c.env, ticket, now), 200);
    const room = await edgeRoomStatus(c.env, ticket.showId);
    if (!room) throw notFound("Show");
    if (!room.enabled) throw new ApiError(409, "waiting_room_disabled", "This show's waiting room is closed");

    if (!needsTheDo(ticket, room.watermark, room.opens_at_ms, now)) {
      recordHeartbeat(c.env, c.executionCtx, ticket.showId, fanId, session_id);
      return c.json(await answerAtEdge(c.env, ticket, room, now), 200);
    }
    const outcome = await c.env.SHOW.getByName(ticket.showId).pollQueue(fanId, session_id);
    if (!outcome.ok) throw roomRefused(outcome);
    if (!outcome.value) throw notFound("Waiting-room session");
    return c.json(await answerFromDo(c.env, ticket.showId, outcome.value), 200);
  },
);

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

/**
 * Only two things need the DO: the fan's turn may have come (seq under the watermark), or the
 * pre-queue has just opened (the fan needs its number). That the fan is still there reaches
 * the DO in batched heartbeats.
 */
function needsTheDo(ticket: QueueTicket, watermark: number, opensAtMs: number | null, now: number): boolean {
  if (ticket.seq === null) return opensAtMs === null || now >= opensAtMs;
  return ticket.seq <= watermark;
}

async function answerAtEdge(
  env: Env,
  ticket: QueueTicket,
  room: { watermark: number; admit_per_minute: number; opens_at_ms: number | null; paused: boolean },
  now: number,
): Promise<WaitingRoomSession> {
  const position = ticket.seq === null ? null : ticket.seq - room.watermark;
  const etaMs =
    position === null ? Math.max(0, (room.opens_at_ms ?? now) - now) : (position / room.admit_per_minute) * 60_000;
  const poll = room.paused ? MAX_POLL_MS : pollAfter(etaMs);
  const renewed = await signQueueTicket(env, { ...ticket, nextPollAtMs: now + poll, expiresAtMs: now + TICKET_TTL_MS });
  return {
    session_id: ticket.sessionId,
    ticket: renewed,
    status: "waiting",
    position,
    estimated_wait_s: Math.ceil(etaMs / 1000),
    poll_after_ms: poll,
    server_time_ms: now,
  };
}
