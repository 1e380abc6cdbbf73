import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { LiveBatch, LiveSeats, LiveSnapshot } from "./live";
import type { Inventory } from "./types";

// One of a show's few feed objects (durable-objects/live.ts names them): it holds a few thousand
// fans' sockets for the live seat map and fans each batch the Show DO publishes out to them, so
// the Show DO's cost per change does not grow with the crowd. Sockets are accepted with the
// hibernation API: between batches the object can leave memory while every socket stays open,
// and each socket's subscription lives in its attachment, which survives that.
//
// In memory only (rebuilt after hibernation, from the Show DO, when a snapshot is needed): the
// public state of the sections its watchers asked for, and the last RECENT batches, which let a
// reconnecting fan resume with `since` instead of a snapshot. The last batch's sequence number
// is stored, so a batch missed while asleep is still seen as a gap.

/** Batches kept for `since` resumes: at 4 a second, the last half minute. */
const RECENT = 120;
/** Sections one socket may watch seat by seat (a fan looks at a few at a time). */
export const MAX_LIVE_SECTIONS = 20;
const MAX_MESSAGE_CHARS = 4_096;

export const liveSectionId = z.string().regex(/^[A-Za-z0-9]{1,12}$/);
const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("subscribe"), sections: z.array(liveSectionId).max(MAX_LIVE_SECTIONS) }),
]);

type Subscription = { sections: string[] };
type SseClient = Subscription & { writer: WritableStreamDefaultWriter<Uint8Array> };
type State = {
  seq: number;
  inventory: Inventory;
  sections: Map<string, number>;
  seats: Map<string, Record<string, LiveSeats[string][string]>>;
};

const encoder = new TextEncoder();

export class FeedDO extends DurableObject<Env> {
  /** The last batch fanned out: a batch whose `prev` is beyond it means one was missed. */
  #seq: number | null = null;
  #showId: string | null = null;
  #state: State | null = null;
  #recent: LiveBatch[] = [];
  /** SSE streams cannot hibernate: while one is open, the object stays in memory. */
  #sse = new Set<SseClient>();
  /**
   * Each socket's subscription as read from its attachment, kept while the object is awake:
   * deserializing thousands of attachments on every batch was most of a fan-out's cost.
   */
  #subscriptions = new WeakMap<WebSocket, string[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#seq = ctx.storage.kv.get<number>("seq") ?? null;
    this.#showId = ctx.storage.kv.get<string>("show_id") ?? null;
  }

  /**
   * A fan connecting, forwarded by the Worker (which validated the show, `sections` and
   * `since`): a WebSocket upgrade, or else an SSE stream of the same messages.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const showId = url.pathname.split("/")[3]!;
    if (this.#showId !== showId) {
      this.#showId = showId;
      this.ctx.storage.kv.put("show_id", showId);
    }
    const sections = url.searchParams.get("sections")?.split(",").filter(Boolean) ?? [];
    const sinceParam = url.searchParams.get("since");
    const first = await this.#greeting(sections, sinceParam === null ? null : Number(sinceParam));
    if (!first) return new Response("show not found", { status: 404 });

    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      this.ctx.acceptWebSocket(server);
      server.serializeAttachment({ sections } satisfies Subscription);
      this.#subscriptions.set(server, sections);
      for (const message of first) server.send(message);
      return new Response(null, { status: 101, webSocket: client });
    }

    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const sse: SseClient = { sections, writer: writable.getWriter() };
    this.#sse.add(sse);
    for (const message of first) void this.#writeSse(sse, message);
    request.signal.addEventListener("abort", () => this.#dropSse(sse));
    return new Response(readable, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  }

  /** A socket's message: only `subscribe`. Anything else closes that socket, with the reason. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return ws.close(1003, "binary messages are not accepted");
    if (message.length > MAX_MESSAGE_CHARS) return ws.close(1009, "message too long");
    let parsed: z.infer<typeof ClientMessage>;
    try {
      parsed = ClientMessage.parse(JSON.parse(message));
    } catch {
      return ws.close(1008, 'expected {"type":"subscribe","sections":[section ids, at most 20]}');
    }
    ws.serializeAttachment({ sections: parsed.sections } satisfies Subscription);
    this.#subscriptions.set(ws, parsed.sections);
    const snapshot = await this.#snapshotFor(parsed.sections);
    if (snapshot) ws.send(snapshot);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed: nothing to finish.
    }
  }

  override webSocketError(): void {}

  /**
   * The Show DO's batch: to every watcher, with per-seat detail only for the sections each
   * one subscribed to (one message built per distinct subscription). A batch after a missed
   * one sends everyone a fresh snapshot instead.
   */
  async publish(batch: LiveBatch): Promise<{ delivered: number }> {
    if (this.#showId !== batch.show_id) {
      this.#showId = batch.show_id;
      this.ctx.storage.kv.put("show_id", batch.show_id);
    }
    if (this.#seq !== null && batch.seq <= this.#seq) return { delivered: 0 };
    const gap = this.#seq !== null && batch.prev > this.#seq;
    this.#seq = batch.seq;
    this.ctx.storage.kv.put("seq", batch.seq);
    this.#recent.push(batch);
    if (this.#recent.length > RECENT) this.#recent.shift();
    this.#apply(batch);
    if (gap) return { delivered: await this.#resnapshotAll() };

    const messages = new Map<string, string>();
    const messageFor = (sections: string[]) => {
      const key = sections.join(",");
      let message = messages.get(key);
      if (message === undefined) {
        message = JSON.stringify(deltaMessage(batch, sections));
        messages.set(key, message);
      }
      return message;
    };
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(messageFor(this.#sectionsOf(ws)));
        delivered++;
      } catch {
        // A socket closing meanwhile: its close handler finishes it.
      }
    }
    for (const sse of this.#sse) {
      void this.#writeSse(sse, messageFor(sse.sections));
      delivered++;
    }
    return { delivered };
  }

  /** Sockets and SSE streams open on this feed (tests, the benchmark). */
  watchers(): number {
    return this.ctx.getWebSockets().length + this.#sse.size;
  }

  /** What a new watcher gets first: the batches after `since` when this feed still has them, else a snapshot. */
  async #greeting(sections: string[], since: number | null): Promise<string[] | null> {
    if (since !== null && this.#seq !== null) {
      const oldest = this.#recent[0];
      if (since === this.#seq) return [];
      if (oldest && oldest.prev <= since && since < this.#seq) {
        return this.#recent
          .filter((batch) => batch.seq > since)
          .map((batch) => JSON.stringify(deltaMessage(batch, sections)));
      }
    }
    const snapshot = await this.#snapshotFor(sections);
    return snapshot ? [snapshot] : null;
  }

  /** A snapshot message for these sections, from memory or, for sections not kept, the Show DO. */
  async #snapshotFor(sections: string[]): Promise<string | null> {
    const state = this.#state;
    if (!state || sections.some((id) => !state.seats.has(id))) {
      if (!(await this.#load(sections))) return null;
    }
    return JSON.stringify(snapshotMessage(this.#showId!, this.#state!, sections));
  }

  /**
   * Reloads the kept state from the Show DO: the sections asked for plus those already kept.
   * Batches that arrived while it loaded are applied on top (their states are absolute).
   */
  async #load(sections: string[]): Promise<boolean> {
    const wanted = new Set([...sections, ...(this.#state?.seats.keys() ?? [])]);
    const snapshot: LiveSnapshot | null = await this.env.SHOW.getByName(this.#showId!).liveSnapshot([...wanted]);
    if (!snapshot) return false;
    // A feed that never had a batch starts its stream at the first snapshot it handed out.
    if (this.#seq === null) {
      this.#seq = snapshot.seq;
      this.ctx.storage.kv.put("seq", snapshot.seq);
    }
    this.#state = {
      seq: snapshot.seq,
      inventory: snapshot.inventory,
      sections: new Map(snapshot.sections.map((s) => [s.section_id, s.available])),
      seats: new Map(Object.entries(snapshot.seats)),
    };
    for (const batch of this.#recent) this.#apply(batch);
    return true;
  }

  #apply(batch: LiveBatch) {
    const state = this.#state;
    if (!state || batch.seq <= state.seq) return;
    state.inventory = batch.inventory;
    for (const section of batch.sections) state.sections.set(section.section_id, section.available);
    for (const [sectionId, seats] of Object.entries(batch.seats)) {
      const kept = state.seats.get(sectionId);
      if (kept) Object.assign(kept, seats);
    }
    state.seq = batch.seq;
  }

  /** After a missed batch: everyone's view may be wrong, so everyone gets a fresh snapshot. */
  async #resnapshotAll(): Promise<number> {
    this.#state = null;
    const sockets = this.ctx.getWebSockets();
    const subscriptions = [...sockets.map((ws) => this.#sectionsOf(ws)), ...[...this.#sse].map((sse) => sse.sections)];
    if (!(await this.#load([...new Set(subscriptions.flat())]))) return 0;
    let delivered = 0;
    for (const ws of sockets) {
      const sections = this.#sectionsOf(ws);
      try {
        ws.send(JSON.stringify(snapshotMessage(this.#showId!, this.#state!, sections)));
        delivered++;
      } catch {}
    }
    for (const sse of this.#sse) {
      void this.#writeSse(sse, JSON.stringify(snapshotMessage(this.#showId!, this.#state!, sse.sections)));
      delivered++;
    }
    return delivered;
  }

  /** The sections a socket watches: from memory, or (after hibernation) its attachment. */
  #sectionsOf(ws: WebSocket): string[] {
    let sections = this.#subscriptions.get(ws);
    if (sections === undefined) {
      sections = (ws.deserializeAttachment() as Subscription | null)?.sections ?? [];
      this.#subscriptions.set(ws, sections);
    }
    return sections;
  }

  async #writeSse(sse: SseClient, message: string) {
    try {
      await sse.writer.write(encoder.encode(`data: ${message}\n\n`));
    } catch {
      this.#dropSse(sse);
    }
  }

  #dropSse(sse: SseClient) {
    if (!this.#sse.delete(sse)) return;
    sse.writer.close().catch(() => {});
  }
}

/** The seats of the subscribed sections, flat by seat id as the API sends them. */
function pick(seats: LiveSeats, sections: string[]): Record<string, LiveSeats[string][string]> | undefined {
  let picked: Record<string, LiveSeats[string][string]> | undefined;
  for (const id of sections) {
    const states = seats[id];
    if (states) picked = Object.assign(picked ?? {}, states);
  }
  return picked;
}

function deltaMessage(batch: LiveBatch, sections: string[]) {
  const seats = pick(batch.seats, sections);
  return {
    type: "delta",
    prev: batch.prev,
    seq: batch.seq,
    as_of_ms: batch.as_of_ms,
    inventory: batch.inventory,
    sections: batch.sections,
    ...(seats ? { seats } : {}),
  };
}

function snapshotMessage(showId: string, state: State, sections: string[]) {
  const seats: Record<string, LiveSeats[string][string]> = {};
  for (const id of sections) Object.assign(seats, state.seats.get(id));
  return {
    type: "snapshot",
    show_id: showId,
    seq: state.seq,
    as_of_ms: Date.now(),
    inventory: state.inventory,
    sections: [...state.sections].map(([section_id, available]) => ({ section_id, available })),
    ...(sections.length ? { seats } : {}),
  };
}
