import { DurableObject } from "cloudflare:workers";
import { GaSections, isGaPlace } from "./ga";
import { type HoldRow, Holds, isLive, seatIdsOf } from "./holds";
import { LIVE_BATCH_MS, type LiveBatch, type LiveSnapshot, liveFeedCount, liveFeedName } from "./live";
import { LiveLog } from "./live-log";
import { Notices } from "./notices";
import { migrateShowSchema } from "./schema";
import { Seats } from "./seats";
import type {
  BlockResult,
  CheckoutOutcome,
  HoldOutcome,
  HoldRequest,
  HoldView,
  Inventory,
  OrganizerSeat,
  PollOutcome,
  QueueArrival,
  QueueKey,
  QueueSession,
  ReleaseOutcome,
  RoomConfigPatch,
  RoomOutcome,
  RoomStats,
  RoomStatus,
  SeatCounts,
  SellOutcome,
  ShowAvailability,
  ShowInit,
  ShowSnapshot,
  SoldSeat,
  WaitlistEntry,
  WaitlistOutcome,
} from "./types";
import { inventoryOf, WaitingRoom } from "./waiting-room";
import { Waitlist } from "./waitlist";

export type * from "./types";

/** The `show_config` row: the snapshot without its live parts. */
type ConfigRow = Omit<ShowSnapshot, "counts" | "server_time_ms">;

/** How soon the alarm tries again to hand unsent notices to the Queue. */
const NOTICE_RETRY_MS = 5_000;

/**
 * One object per show, found by the show id. It serializes every decision about the show's
 * seats: each RPC method reads and writes SQLite synchronously, with no `await` between the
 * read and the write of one transition, so a transition is atomic and concurrent requests
 * simply queue behind it. The class is the RPC surface and the alarm; the state lives in its
 * collaborators, each owning its tables: `Seats` (and `GaSections`, general admission's places
 * among them), `Holds`, `WaitingRoom`, `Waitlist`, `Notices`, `LiveLog` (the live map's change
 * log). Nothing here knows about HTTP or Postgres.
 */
export class ShowDO extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  #schemaVersion = 0;
  /** The alarm time we last set, so arming needs no `await storage.getAlarm()` mid-transition. */
  #alarmAtMs: number | null = null;
  #config: ConfigRow | undefined;
  readonly #seats: Seats;
  readonly #ga: GaSections;
  readonly #holds: Holds;
  readonly #room: WaitingRoom;
  readonly #waitlist: Waitlist;
  readonly #notices: Notices;
  readonly #live: LiveLog;
  /** Server time; replaced only by tests that drive expiry without sleeping. */
  clock: () => number = () => Date.now();
  /** Overlay reads that reached this object (the edge cache in front of it is measured by it). */
  overlayReads = 0;
  /** Arrival batches the edge sent (joins answered at the edge are measured by it). */
  arrivalBatches = 0;
  /** The pending live publication: seat changes within LIVE_BATCH_MS go out as one batch. */
  #liveTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the last batch went out (this instance's clock; 0 after a restart). */
  #livePublishedAt = 0;
  /** The inventory the last batch carried (null after a restart: the next batch says it again). */
  #liveInventory: Inventory | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    const now = () => this.clock();
    this.#ga = new GaSections(this.#sql);
    this.#seats = new Seats(this.#sql, this.#ga);
    this.#holds = new Holds(ctx.storage, this.#seats);
    this.#room = new WaitingRoom(ctx.storage, now);
    this.#waitlist = new Waitlist(this.#sql, now);
    this.#notices = new Notices(this.#sql, now);
    this.#live = new LiveLog(ctx.storage, this.#seats, this.#ga);
    ctx.blockConcurrencyWhile(async () => {
      this.#schemaVersion = migrateShowSchema(ctx.storage);
      this.#alarmAtMs = await ctx.storage.getAlarm();
    });
  }

  /** Does nothing: the baseline of a Worker → DO round trip in `npm run bench:holds`. */
  noop(): number {
    return this.clock();
  }

  /** Health probe: the object answers and its schema is current. Reads only. */
  probe(): { schema_version: number } {
    this.#sql.exec("SELECT 1").one();
    return { schema_version: this.#schemaVersion };
  }

  // ── catalog (organizers) ──────────────────────────────────────────────────────────────

  /**
   * Loads the show's seats when it is published. Publishing again is harmless: seats already
   * present keep their state (a held or sold seat is never reset by a re-publish).
   */
  initialize(init: ShowInit): SeatCounts {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        `INSERT INTO show_config (id, show_id, status, on_sale_at_ms, ticket_limit, hold_ttl_ms, currency,
           venue_id, seat_map_version, initialized_at_ms)
         VALUES (1, ?, 'published', ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET on_sale_at_ms = excluded.on_sale_at_ms,
           ticket_limit = excluded.ticket_limit, hold_ttl_ms = excluded.hold_ttl_ms`,
        init.show_id,
        init.on_sale_at_ms,
        init.ticket_limit,
        init.hold_ttl_ms,
        init.currency,
        init.venue_id,
        init.seat_map_version,
        this.clock(),
      );
      this.#config = undefined;
      this.#seats.load(init.seats);
      this.#ga.load(init.ga_sections ?? []);
    });
    this.#seatsChanged();
    return this.#seats.counts();
  }

  /** The show as the DO sees it, or null when it was never published. */
  snapshot(): ShowSnapshot | null {
    const config = this.#configRow();
    if (!config) return null;
    return { ...config, counts: this.#seats.counts(), server_time_ms: this.clock() };
  }

  /** Cancelling stops all selling; live holds (in checkout too) are released so no seat stays stuck. */
  cancel(): SeatCounts | null {
    if (!this.#configRow()) return null;
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE show_config SET status = 'cancelled'");
      this.#config = undefined;
      for (const hold of this.#holds.live()) this.#endHold(hold, "released");
    });
    return this.#seats.counts();
  }

  /** The show's seats (and GA places) by status; one section's when asked. */
  counts(sectionId?: string): SeatCounts {
    return this.#seats.counts(sectionId ?? null);
  }

  /** Organizer holds seats back. All or nothing: a held or sold seat cannot be blocked. */
  block(seatIds: string[], reason: string): BlockResult {
    return this.#changeSeatBlocks(seatIds, true, reason);
  }

  unblock(seatIds: string[]): BlockResult {
    return this.#changeSeatBlocks(seatIds, false, null);
  }

  /** Seats named by id; GA capacity is held back by quantity, so a place id is no seat here either. */
  #changeSeatBlocks(seatIds: string[], block: boolean, reason: string | null): BlockResult {
    const places = seatIds.filter(isGaPlace);
    if (places.length) return { ok: false, code: "unknown_seats", seat_ids: places };
    return this.#changeBlocks(seatIds, block, reason);
  }

  /**
   * Organizer holds back (or puts back on sale) `quantity` of a GA section's capacity: all or
   * nothing, from the places free (or blocked) right now.
   */
  blockCapacity(sectionId: string, quantity: number, reason: string): BlockResult {
    return this.#changeCapacityBlocks(sectionId, quantity, true, reason);
  }

  unblockCapacity(sectionId: string, quantity: number): BlockResult {
    return this.#changeCapacityBlocks(sectionId, quantity, false, null);
  }

  #changeCapacityBlocks(sectionId: string, quantity: number, block: boolean, reason: string | null): BlockResult {
    if (!this.#configRow()) return { ok: false, code: "show_not_published", seat_ids: [] };
    if (!this.#ga.has(sectionId)) return { ok: false, code: "unknown_section", seat_ids: [] };
    this.#expireDue(this.clock());
    const places = this.#ga.pick(sectionId, quantity, block ? "available" : "blocked");
    if (!places) return { ok: false, code: "insufficient_availability", seat_ids: [] };
    return this.#changeBlocks(places, block, reason);
  }

  #changeBlocks(seatIds: string[], block: boolean, reason: string | null): BlockResult {
    if (!this.#configRow()) return { ok: false, code: "show_not_published", seat_ids: [] };
    this.#expireDue(this.clock());
    const result = this.ctx.storage.transactionSync(() => this.#seats.changeBlocks(seatIds, block, reason));
    if (result.ok && result.changed.length) this.#seatsChanged();
    if (result.ok && !block && result.changed.length) this.#serveWaitlist();
    return result;
  }

  /** One section's seats in their true states (held, sold, blocked and why), or null before publishing. */
  seatStates(sectionId: string): OrganizerSeat[] | null {
    if (!this.#configRow()) return null;
    this.#expireDue(this.clock());
    return this.#seats.statesOfSection(sectionId);
  }

  // ── fans: overlay and holds ─────────────────────────────────────────────────────────────

  /**
   * The public overlay: per section available/total/min price (from the tallies: O(sections)),
   * and per seat when a section is asked for. Held, sold and blocked all read "unavailable".
   */
  availability(sectionId?: string): ShowAvailability | null {
    this.overlayReads++;
    const config = this.#configRow();
    if (!config) return null;
    this.#expireDue(this.clock());
    return {
      show_id: config.show_id,
      status: config.status,
      inventory: inventoryOf(this.#seats.counts()),
      currency: config.currency,
      venue_id: config.venue_id,
      seat_map_version: config.seat_map_version,
      sections: this.#seats.sections(),
      ...(sectionId !== undefined ? { seats: this.#seats.seatsOfSection(sectionId) } : {}),
      as_of_ms: this.clock(),
    };
  }

  /**
   * Holds seats for a fan: every requested seat flips from available to held in one
   * synchronous step, or none does. A replay of the same idempotency key returns the hold it
   * created, whatever has happened to it since.
   */
  hold(request: HoldRequest): HoldOutcome {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "show_not_found" };
    const now = this.clock();

    const previous = this.#holds.byKey(request.fan_id, request.idempotency_key);
    if (previous) {
      if (previous.request_hash !== request.request_hash) return { ok: false, code: "idempotency_key_reused" };
      return { ok: true, replayed: true, hold: this.#holds.view(previous, config, now) };
    }
    if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    if (now < config.on_sale_at_ms) return { ok: false, code: "show_not_on_sale", on_sale_at_ms: config.on_sale_at_ms };

    this.#expireDue(now);
    const wanted = "seat_ids" in request ? request.seat_ids.length : request.quantity;
    const already = this.#holds.seatsOfFan(request.fan_id);
    if (already + wanted > config.ticket_limit) {
      return { ok: false, code: "limit_exceeded", limit: config.ticket_limit, already };
    }
    const key = { key: request.idempotency_key, hash: request.request_hash };

    if ("seat_ids" in request) {
      // GA capacity is asked for by quantity; a place id is no seat a fan can name.
      const places = request.seat_ids.filter(isGaPlace);
      if (places.length) return { ok: false, code: "unknown_seats", seat_ids: places };
      // Optimistic: hold them all in one transaction; only when that fails, find out why.
      const created = this.#holds.create(config, request.fan_id, request.seat_ids, key, now);
      if (created) return this.#held(created, config, now);
      const seats = this.#seats.byIds(request.seat_ids);
      const unknown = request.seat_ids.filter((id) => !seats.has(id));
      if (unknown.length) return { ok: false, code: "unknown_seats", seat_ids: unknown };
      const lost = request.seat_ids.filter((id) => seats.get(id)!.status !== "available");
      return { ok: false, code: "seats_unavailable", seat_ids: lost };
    }
    if (!this.#seats.hasSection(request.section_id)) return { ok: false, code: "unknown_section" };
    const picked = this.#seats.pick(request.section_id, request.quantity, request.accessible ?? false);
    const created = picked && this.#holds.create(config, request.fan_id, picked, key, now);
    if (!created) return { ok: false, code: "insufficient_availability", seat_ids: [] };
    return this.#held(created, config, now);
  }

  #held(hold: HoldRow, config: ConfigRow, now: number): HoldOutcome {
    this.#armAlarm(hold.expires_at_ms);
    this.#seatsChanged();
    return { ok: true, replayed: false, hold: this.#holds.view(hold, config, now) };
  }

  /** A fan's own hold; another fan's hold does not exist for them. */
  getHold(fanId: string, holdId: string): HoldView | null {
    const config = this.#configRow();
    if (!config) return null;
    const now = this.clock();
    this.#expireDue(now);
    const hold = this.#holds.own(fanId, holdId);
    return hold ? this.#holds.view(hold, config, now) : null;
  }

  /**
   * Releases an active hold; releasing an ended hold again is harmless and changes nothing. A
   * hold in checkout belongs to its order: the fan cancels the order (which cancels the
   * payment first), otherwise a payment still in flight could complete for seats let go —
   * and the fan could hold the limit again meanwhile.
   */
  release(fanId: string, holdId: string): ReleaseOutcome {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "hold_not_found" };
    const now = this.clock();
    this.#expireDue(now);
    const hold = this.#holds.own(fanId, holdId);
    if (!hold) return { ok: false, code: "hold_not_found" };
    if (hold.status === "checkout") return { ok: false, code: "hold_in_checkout" };
    if (hold.status === "active") {
      this.ctx.storage.transactionSync(() => this.#endHold(hold, "released"));
      this.#serveWaitlist();
    }
    return { ok: true, hold: this.#holds.view(this.#holds.get(holdId)!, config, now) };
  }

  // ── orders (driven by the Worker from Postgres) ─────────────────────────────────────────

  /**
   * Moves the fan's hold into checkout for an order: its expiry stretches to cover the payment
   * window. The first order id proposed sticks, so a retried order creation lands on the same
   * order, and a hold can only ever back one order.
   */
  beginCheckout(fanId: string, holdId: string, proposedOrderId: string, windowMs: number): CheckoutOutcome {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "hold_not_found" };
    const now = this.clock();
    this.#expireDue(now);
    const hold = this.#holds.own(fanId, holdId);
    if (!hold) return { ok: false, code: "hold_not_found" };
    if (hold.order_id === null) {
      if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
      if (hold.status === "expired") return { ok: false, code: "hold_expired" };
      if (hold.status !== "active") return { ok: false, code: "hold_released" };
      const expiresAt = Math.max(hold.expires_at_ms, now + windowMs);
      this.#holds.beginCheckout(holdId, proposedOrderId, expiresAt);
      this.#armAlarm(expiresAt);
    }
    const current = this.#holds.get(holdId)!;
    return {
      ok: true,
      order_id: current.order_id!,
      hold: this.#holds.view(current, config, now),
      seats: this.#seats.checkoutLines(seatIdsOf(current)),
    };
  }

  /**
   * The payment window, once the order exists in Postgres: a hold in checkout for `orderId` is
   * kept until `untilMs` (the order's own expiry and a margin; never shortened). Checkout begins
   * with a short window so that an order whose rows never reached Postgres (an outage between
   * the two) ties the seats up only briefly. The time is absolute so that asking again (a retried
   * order creation whose first stretch was lost) cannot keep a hold beyond its order.
   */
  stretchCheckout(holdId: string, orderId: string, untilMs: number): HoldView | null {
    const config = this.#configRow();
    const hold = this.#holds.get(holdId);
    if (!config || !hold || hold.order_id !== orderId) return null;
    const now = this.clock();
    // Already sold to this order (a finalize whose Postgres confirm was lost): nothing to keep,
    // and the caller finalizes rather than cancels.
    if (hold.status === "sold") return this.#holds.view(hold, config, now);
    if (hold.status !== "checkout") return null;
    this.#expireDue(now);
    if (this.#holds.get(holdId)!.status !== "checkout") return null;
    this.#holds.stretch(holdId, untilMs);
    this.#armAlarm(untilMs);
    return this.#holds.view(this.#holds.get(holdId)!, config, now);
  }

  /**
   * Of these checkouts, the holds no longer in checkout for their order (lapsed or let go, and
   * not sold): orders nobody can pay any more, which the reconciliation cron settles at once
   * instead of at the end of their window.
   */
  lapsedCheckouts(checkouts: { hold_id: string; order_id: string }[]): string[] {
    if (!this.#configRow()) return [];
    this.#expireDue(this.clock());
    return checkouts
      .filter(({ hold_id, order_id }) => {
        const hold = this.#holds.get(hold_id);
        return !hold || (hold.status !== "sold" && !(hold.status === "checkout" && hold.order_id === order_id));
      })
      .map(({ hold_id }) => hold_id);
  }

  /**
   * Finalize, step one: the hold's seats become sold. Idempotent. If the hold lapsed but its
   * seats are still free, the paid order takes them — unless that would put the fan over the
   * per-fan limit (they held or bought others meanwhile) or the show was cancelled; if anyone
   * else has one, nothing changes. Every refusal means the caller refunds.
   */
  sellHold(holdId: string): SellOutcome {
    const config = this.#configRow();
    const hold = this.#holds.get(holdId);
    if (!config || !hold) return { ok: false, code: "hold_not_found" };
    const seatIds = seatIdsOf(hold);
    if (hold.status === "sold") return { ok: true, seat_ids: seatIds };
    if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    // A live hold is already counted against the limit; a lapsed one is not any more.
    if (!isLive(hold) && this.#holds.seatsOfFan(hold.fan_id) + seatIds.length > config.ticket_limit) {
      return { ok: false, code: "limit_exceeded", limit: config.ticket_limit };
    }
    const seats = this.#seats.byIds(seatIds);
    const taken = seatIds.filter((id) => {
      const seat = seats.get(id);
      return !seat || !((seat.status === "held" && seat.hold_id === holdId) || seat.status === "available");
    });
    if (taken.length) return { ok: false, code: "seats_taken", seat_ids: taken };
    const now = this.clock();
    this.ctx.storage.transactionSync(() => {
      this.#seats.sell(holdId, seatIds);
      this.#holds.markSold(holdId, now);
      this.#waitlist.offerTaken(holdId);
    });
    this.#seatsChanged();
    return { ok: true, seat_ids: seatIds };
  }

  /** Payment failed or the order was cancelled: a live hold's seats go back on sale at once. */
  releaseForOrder(holdId: string): HoldView | null {
    const config = this.#configRow();
    const hold = this.#holds.get(holdId);
    if (!config || !hold) return null;
    if (isLive(hold)) {
      this.ctx.storage.transactionSync(() => this.#endHold(hold, "released"));
      this.#serveWaitlist();
    }
    return this.#holds.view(this.#holds.get(holdId)!, config, this.clock());
  }

  /** A refunded order's seats go back on sale (sold → available). Idempotent. */
  refundHold(holdId: string): HoldView | null {
    const config = this.#configRow();
    const hold = this.#holds.get(holdId);
    if (!config || !hold) return null;
    if (hold.status === "sold") {
      this.ctx.storage.transactionSync(() => {
        this.#seats.refund(holdId, seatIdsOf(hold));
        this.#holds.markRefunded(holdId);
      });
      this.#seatsChanged();
      this.#serveWaitlist();
    }
    return this.#holds.view(this.#holds.get(holdId)!, config, this.clock());
  }

  /**
   * Some tickets of a sold order were refunded: their seats go back on sale, the rest stay sold
   * to the order. Idempotent; returns the seats that went back now.
   */
  refundSeats(holdId: string, seatIds: string[]): { returned: string[] } {
    const hold = this.#holds.get(holdId);
    if (!this.#configRow() || !hold || hold.status !== "sold") return { returned: [] };
    const own = new Set(seatIdsOf(hold));
    const returned = this.ctx.storage.transactionSync(() => {
      const back = this.#seats.refund(
        holdId,
        seatIds.filter((id) => own.has(id)),
      );
      if (back.length) this.#holds.dropSeats(hold, back);
      return back;
    });
    if (returned.length) {
      this.#seatsChanged();
      this.#serveWaitlist();
    }
    return { returned };
  }

  /**
   * Reconciliation's repair for a valid ticket whose seat the DO does not show as sold: free
   * seats are sold to the ticket's hold again; a seat someone else holds or bought is reported.
   */
  repairSold(holdId: string, seatIds: string[]): { repaired: string[]; conflicts: string[] } {
    const repaired: string[] = [];
    const conflicts: string[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const seatId of seatIds) {
        const result = this.#seats.resell(holdId, seatId);
        if (result === "repaired") repaired.push(seatId);
        if (result === "conflict") conflicts.push(seatId);
      }
      if (repaired.length) this.#holds.markSold(holdId, this.clock());
    });
    if (repaired.length) this.#seatsChanged();
    return { repaired, conflicts };
  }

  /** Every sold seat with the hold (and order) that bought it: reconciliation's view. */
  soldSeats(): SoldSeat[] {
    return this.#seats.soldWithHolds();
  }

  // ── waitlist ───────────────────────────────────────────────────────────────────────────

  /**
   * Join the waitlist of a sold-out show (or section). Joining again returns the same entry.
   * The waitlist is no side door: not before the on-sale time; "sold out" means every seat is
   * sold or blocked — held seats may still come back to the fans in the queue; and while the
   * waiting room is on, a fan needs a live admission — or, once the whole show is sold out (the
   * queue has no turn to give, and tells everyone in line to join the waitlist instead), a queue
   * ticket for this show (`inLine`, checked at the edge: a ticket is only given after the join's
   * bot check). Otherwise a bot farm that never queued could take the first claim on every
   * returned seat.
   */
  joinWaitlist(
    fanId: string,
    email: string | null,
    quantity: number,
    sectionId: string | null,
    inLine = false,
  ): WaitlistOutcome {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "show_not_found" };
    if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    const now = this.clock();
    if (now < config.on_sale_at_ms) return { ok: false, code: "show_not_on_sale", on_sale_at_ms: config.on_sale_at_ms };
    if (quantity > config.ticket_limit) return { ok: false, code: "limit_exceeded", limit: config.ticket_limit };
    if (sectionId !== null && !this.#seats.hasSection(sectionId)) return { ok: false, code: "unknown_section" };
    const existing = this.#waitlist.status(fanId);
    if (existing && (existing.status === "waiting" || existing.status === "offered"))
      return { ok: true, entry: existing };
    this.#expireDue(now);
    const showSoldOut = inventoryOf(this.#seats.counts()) === "sold_out";
    if (this.#room.config().enabled && !(showSoldOut && inLine) && !this.#room.admissionOf(fanId))
      return { ok: false, code: "admission_required" };
    const counts = this.#seats.counts(sectionId);
    if (counts.available > 0 || counts.held > 0) return { ok: false, code: "not_sold_out" };
    return { ok: true, entry: this.#waitlist.join(fanId, email, quantity, sectionId) };
  }

  /** Leave the waitlist; an outstanding offer is released and moves on to the next fan. */
  leaveWaitlist(fanId: string): WaitlistEntry | null {
    if (!this.#configRow()) return null;
    const left = this.#waitlist.leave(fanId);
    if (left?.offer_hold_id) {
      const hold = this.#holds.get(left.offer_hold_id);
      if (hold?.status === "active") this.ctx.storage.transactionSync(() => this.#endHold(hold, "released"));
      this.#serveWaitlist();
    }
    return this.#waitlist.status(fanId);
  }

  waitlistStatus(fanId: string): WaitlistEntry | null {
    return this.#configRow() ? this.#waitlist.status(fanId) : null;
  }

  /** Seats came back: offer them down the waitlist, and write a notice for each offer. */
  #serveWaitlist() {
    const config = this.#configRow();
    if (!config || config.status === "cancelled" || !this.#waitlist.hasWaiting()) return;
    const now = this.clock();
    if (now < config.on_sale_at_ms) return;
    const offers = this.ctx.storage.transactionSync(() => {
      const made = this.#waitlist.serve({
        free: (sectionId) => this.#seats.counts(sectionId).available,
        pick: (sectionId, quantity) => this.#seats.pickAnywhere(sectionId, quantity),
        hold: (fanId, seatIds) => {
          const hold = this.#holds.create(config, fanId, seatIds, null, now);
          if (hold) {
            this.#armAlarm(hold.expires_at_ms);
            this.#seatsChanged();
          }
          return hold?.hold_id ?? null;
        },
        heldBy: (fanId) => this.#holds.seatsOfFan(fanId),
        limit: () => config.ticket_limit,
      });
      for (const entry of made) {
        const hold = this.#holds.get(entry.offer_hold_id!)!;
        this.#notices.add("waitlist.offer", hold.hold_id, {
          fan_id: entry.fan_id,
          email: entry.email,
          show_id: config.show_id,
          hold_id: hold.hold_id,
          seat_ids: seatIdsOf(hold),
          expires_at_ms: hold.expires_at_ms,
        });
      }
      return made;
    });
    if (offers.length) this.#sendNotices();
  }

  /**
   * Hands unsent notices to the notifications Queue, in the background: a caller never waits
   * for it. What fails stays unsent and the alarm tries again.
   */
  #sendNotices() {
    const sending = this.#notices.send(this.env.NOTIFICATIONS);
    if (!sending) return;
    this.#armAlarm(this.clock() + NOTICE_RETRY_MS);
    this.ctx.waitUntil(sending);
  }

  // ── waiting room ───────────────────────────────────────────────────────────────────────

  #inRoom<T>(work: (config: ConfigRow) => T, requireEnabled = true): RoomOutcome<T> {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "show_not_found" };
    if (requireEnabled && config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    if (requireEnabled && !this.#room.config().enabled) return { ok: false, code: "room_disabled" };
    return { ok: true, value: work(config) };
  }

  /** What the edge caches for a second; holds due to expire are expired first, so the inventory is true. */
  roomStatus(): RoomStatus | null {
    if (!this.#configRow()) return null;
    this.#expireDue(this.clock());
    return this.#room.status(this.#seats.counts());
  }

  /** A join made by the DO itself (tools, tests); fans join at the edge (`queueArrivals`). */
  joinQueue(fanId: string): RoomOutcome<QueueSession> {
    return this.#inRoom(() => {
      const session = this.#room.join(fanId);
      this.#rearm(this.clock());
      return session;
    });
  }

  /**
   * Arrivals the edge answered, in one batch per isolate every quarter second: the call whose
   * rate grows with the number of isolates, not of fans. Returns how many places were taken.
   */
  queueArrivals(arrivals: QueueArrival[]): number {
    this.arrivalBatches++;
    const outcome = this.#inRoom(() => {
      const taken = this.#room.arrive(arrivals).length;
      this.#rearm(this.clock());
      return taken;
    });
    return outcome.ok ? outcome.value : 0;
  }

  /**
   * A poll the edge could not answer. Each place is answered at most once per poll floor (a
   * replayed old ticket gets a cheap refusal), and the admission tick runs here only when the
   * alarm is late.
   */
  pollQueue(fanId: string, sessionId: string, ticketKey: QueueKey | null = null): PollOutcome {
    const config = this.#configRow();
    if (!config) return { ok: false, code: "show_not_found" };
    const now = this.clock();
    const retryAfterMs = this.#room.retryAfterMs(fanId, sessionId, now);
    if (retryAfterMs > 0) return { ok: false, code: "polling_too_fast", retry_after_ms: retryAfterMs };
    if (this.#room.tickDue(now)) {
      this.#expireDue(now);
      this.#room.tick(now, this.#seats.counts());
      this.#rearm(now);
    }
    const session = this.#room.touch(fanId, sessionId, ticketKey);
    if (session) this.#rearm(now);
    return { ok: true, value: session };
  }

  /** One location's batch, forwarded by its door once a second: arrivals, then heartbeats. */
  queueBatch(arrivals: QueueArrival[], seen: { fan_id: string; session_id: string }[]): number {
    const taken = arrivals.length ? this.queueArrivals(arrivals) : 0;
    if (seen.length) this.queueSeen(seen);
    return taken;
  }

  /** Heartbeats of waiting fans, batched by the edge (one call per location per second). */
  queueSeen(sessions: { fan_id: string; session_id: string }[]): number {
    return this.#configRow() ? this.#room.seen(sessions) : 0;
  }

  configureRoom(patch: RoomConfigPatch): RoomOutcome<RoomStats> {
    return this.#inRoom(() => {
      this.#room.configure(patch);
      this.#rearm(this.clock());
      return this.#room.stats(this.#seats.counts());
    }, false);
  }

  roomStats(): RoomOutcome<RoomStats> {
    return this.#inRoom(() => {
      this.#expireDue(this.clock());
      return this.#room.stats(this.#seats.counts());
    }, false);
  }

  // ── timers ─────────────────────────────────────────────────────────────────────────────

  /**
   * One alarm serves every timer: hold expiry, the admission tick, and retrying notices. Safe
   * to run twice, late, or with nothing to do; it re-arms for whichever is due first. It
   * never awaits anything outside this object: admission cannot stall on a dependency.
   */
  override alarm(): void {
    this.#alarmAtMs = null;
    const now = this.clock();
    this.#expireDue(now);
    if (this.#configRow()) this.#room.tick(now, this.#seats.counts());
    this.#rearm(now);
    this.#sendNotices();
  }

  #rearm(now: number) {
    const due = [
      this.#holds.nextExpiry(),
      this.#configRow() ? this.#room.nextTickAt(now) : null,
      this.#notices.hasUnsent() ? now + NOTICE_RETRY_MS : null,
    ].filter((t): t is number => t !== null);
    if (due.length) this.#armAlarm(Math.min(...due));
  }

  #expireDue(now: number) {
    const due = this.#holds.due(now);
    if (due === null) return;
    if (due.length) {
      this.ctx.storage.transactionSync(() => {
        for (const hold of due) this.#endHold(hold, "expired");
      });
      this.#serveWaitlist();
    }
    this.#holds.nextExpiry();
  }

  /** Ends a live hold: its seats go back on sale, and a waitlist offer it carried lapses. */
  #endHold(hold: HoldRow, status: "released" | "expired") {
    this.#holds.end(hold, status);
    this.#waitlist.offerEnded(hold.hold_id);
    this.#seatsChanged();
  }

  // ── live seat map ──────────────────────────────────────────────────────────────────────

  /**
   * Seats moved (the trigger logged them): publish at most once per LIVE_BATCH_MS. Only arms a
   * timer, so a transition pays nothing for watchers. A change after a quiet spell goes out as
   * soon as this request's work is done (a zero timer: whatever else this turn changes joins
   * it); during a burst the next batch waits out the rest of the interval and carries
   * everything since the last one.
   */
  #seatsChanged() {
    if (this.#liveTimer) return;
    const wait = Math.max(0, this.#livePublishedAt + LIVE_BATCH_MS - Date.now());
    this.#liveTimer = setTimeout(() => {
      this.#liveTimer = null;
      this.publishLive();
    }, wait);
  }

  /**
   * Sends the logged seat changes as one sequence-numbered batch to each of the show's fixed
   * number of feed objects, and forgets them. The cost is the same whether nobody or 50,000
   * fans watch: fanning out to sockets is the feeds' work. A batch a feed misses shows up
   * there as a gap (its next batch's `prev`), which it repairs with a snapshot. Public for
   * tests and tools; normally the timer calls it.
   */
  publishLive(): LiveBatch | null {
    const config = this.#configRow();
    if (!config) return null;
    const inventory = inventoryOf(this.#seats.counts());
    const batch = this.#live.takeBatch(config.show_id, this.clock(), inventory, inventory !== this.#liveInventory);
    if (!batch) return null;
    this.#livePublishedAt = Date.now();
    this.#liveInventory = inventory;
    for (let i = 0; i < liveFeedCount(this.env); i++) {
      const feed = this.env.FEED.getByName(liveFeedName(config.show_id, i));
      this.ctx.waitUntil(
        feed.publish(batch).catch((error: unknown) => {
          console.warn("live feed unreachable", error instanceof Error ? error.message : error);
        }),
      );
    }
    return batch;
  }

  /** The public state for a feed: every section's count, and the seats of `sectionIds`. */
  liveSnapshot(sectionIds: string[]): LiveSnapshot | null {
    const config = this.#configRow();
    if (!config) return null;
    this.#expireDue(this.clock());
    return this.#live.snapshot(config.show_id, sectionIds, this.clock(), inventoryOf(this.#seats.counts()));
  }

  #armAlarm(at: number) {
    if (this.#alarmAtMs !== null && this.#alarmAtMs <= at) return;
    this.#alarmAtMs = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * The show's config, read once and kept in memory: every hold needs it, and it only changes
   * through `initialize` and `cancel`, which drop the cached copy.
   */
  #configRow(): ConfigRow | undefined {
    this.#config ??= this.#sql.exec<ConfigRow>("SELECT * FROM show_config WHERE id = 1").toArray()[0];
    return this.#config;
  }
}
