import { createRoute, z } from "@hono/zod-openapi";
import { MAX_LIVE_SECTIONS } from "../../durable-objects/feed";
import { liveFeedCount, liveFeedName } from "../../durable-objects/live";
import { createRouter } from "../app";
import { id } from "../catalog/schemas";
import { requireKnownShow } from "../catalog/show-directory";
import { ApiError } from "../lib/problem";
import { problemResponses } from "../lib/schemas";

// The live seat map. The Worker only checks the request and picks one of the show's feed
// objects at random (durable-objects/feed.ts): the crowd spreads evenly over the feeds, and a
// reconnecting fan may land on any of them, which is fine because every feed carries the same
// show-wide sequence numbers.

const section = "[A-Za-z0-9]{1,12}";

const LiveMessage = z
  .object({
    type: z.enum(["snapshot", "delta"]),
    seq: z.number().int().openapi({ description: "Show-wide sequence number of the last change included" }),
    prev: z.number().int().optional().openapi({
      description:
        "Deltas only: the sequence number this delta follows. Apply a delta when prev ≤ your seq < seq; ignore it when seq ≤ your seq; prev > your seq means one was missed: reconnect with `since`.",
    }),
    show_id: z.string().optional(),
    as_of_ms: z.number().int(),
    inventory: z.enum(["available", "all_held", "sold_out"]).openapi({
      description:
        "What the show has left, as the waiting room says it: `sold_out` (every seat sold or blocked, nothing held) comes as a delta of its own when the last held seats are sold; offer the waitlist",
    }),
    sections: z.array(z.object({ section_id: z.string(), available: z.number().int() })),
    seats: z
      .record(z.string(), z.enum(["available", "unavailable"]))
      .optional()
      .openapi({ description: "Per seat, only for the subscribed sections" }),
  })
  .openapi("LiveSeatMapMessage");

export const seatMapLive = createRouter();

seatMapLive.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/seat-map/live",
    tags: ["fans"],
    summary: "Live availability: a WebSocket (or SSE) stream of a snapshot, then deltas",
    description: [
      "Send `Upgrade: websocket`, or `Accept: text/event-stream` for the same messages as server-sent events.",
      "The first message is a snapshot (all sections' counts, and per seat for `sections`); then a delta, at most",
      "about four a second, only when something changed. A WebSocket client may send",
      '`{"type":"subscribe","sections":[…]}` (at most 20) and gets a snapshot of them; any other message closes',
      "that socket (1003 binary, 1008 malformed, 1009 too long) with the reason. `since` resumes: the deltas",
      "after it when the feed still has them, else a snapshot. A deploy or eviction drops sockets: reconnect",
      "after a random 1–5 s with `since`. Indicative only: a hold is the real check. No auth.",
    ].join(" "),
    request: {
      params: z.object({ show_id: id("shw") }),
      query: z.strictObject({
        since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        sections: z
          .string()
          .regex(new RegExp(`^${section}(,${section}){0,${MAX_LIVE_SECTIONS - 1}}$`))
          .optional()
          .openapi({
            description: `Comma-separated section ids (at most ${MAX_LIVE_SECTIONS}) to get per-seat detail for`,
          }),
      }),
    },
    responses: {
      101: { description: "WebSocket: each message is one LiveSeatMapMessage as JSON text" },
      200: {
        description: "Server-sent events: each `data:` line is one LiveSeatMapMessage",
        content: { "text/event-stream": { schema: LiveMessage } },
      },
      ...problemResponses(400, 404, 426, 429),
    },
  }),
  async (c) => {
    const { show_id } = c.req.valid("param");
    const { since, sections } = c.req.valid("query");
    const websocket = c.req.header("upgrade")?.toLowerCase() === "websocket";
    if (!websocket && !c.req.header("accept")?.includes("text/event-stream")) {
      throw new ApiError(
        426,
        "upgrade_required",
        "Connect with Upgrade: websocket, or send Accept: text/event-stream for server-sent events",
      );
    }
    await requireKnownShow(c.env, show_id);
    const feed = c.env.FEED.getByName(liveFeedName(show_id, Math.floor(Math.random() * liveFeedCount(c.env))));
    const url = new URL(`/v1/shows/${show_id}/seat-map/live`, c.req.url);
    if (since !== undefined) url.searchParams.set("since", String(since));
    if (sections) url.searchParams.set("sections", sections);
    const response = await feed.fetch(url, { headers: c.req.raw.headers, signal: c.req.raw.signal });
    if (response.status === 404) throw new ApiError(404, "not_found", "Show not found");
    // The feed's response has immutable headers; the middleware adds its own (Request-Id).
    return new Response(response.body, {
      status: response.status,
      headers: response.headers,
      webSocket: response.webSocket,
    });
  },
);
