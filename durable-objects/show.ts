import { DurableObject } from "cloudflare:workers";
import { withDatabase } from "../src/db/client";
import { newHoldId } from "../src/lib/ids";
import { enqueueNotification } from "../src/notifications/outbox";
import { migrateShowSchema } from "./schema";
import { nextSeatStatus, type SeatEvent, type SeatStatus, seatStatuses } from "./seat-state";
import type {
  BlockResult,
  CheckoutOutcome,
  CheckoutSeat,
  HoldOutcome,
  HoldRequest,
  HoldView,
  QueueSession,
  RoomConfigPatch,
  RoomOutcome,
  RoomStats,
  RoomStatus,
  SeatAvailability,
  SeatCounts,
  SectionAvailability,
  SellOutcome,
  ShowAvailability,
  ShowInit,
  ShowSnapshot,
  SoldSeat,
  WaitlistEntry,
  WaitlistOutcome,
} from "./types";
import { WaitingRoom } from "./waiting-room";
import { Waitlist } from "./waitlist";

export type * from "./types";

/** The `show_config` row: the snapshot without its live parts. */
type ConfigRow = Omit<ShowSnapshot, "counts" | "server_time_ms">;

type HoldRow = {
  hold_id: string;
  fan_id: string;
  order_id: string | null;
  status: HoldView["status"];
  seat_ids: string;
  price_cents: number;
  expires_at_ms: number;
  request_hash: string | null;
  version: number;
};

type SeatRow = {
  seat_id: string;
  status: SeatStatus;
  row_index: number;
  seat_index: number;
};

const LIVE_HOLD = "('active', 'checkout')";
/** The statuses the seat machine lets a hold start from, for the hold's conditional UPDATE. */
const HOLDABLE = seatStatuses
  .filter((status) => nextSeatStatus(status, "hold") !== null)
  .map((status) => `'${status}'`)
  .join(", ");
/** Thrown inside a hold's transaction to roll it back when a seat cannot be held. */
const seatNotHoldable = new Error("seat not holdable");

/**
 * One object per show, found by the show id. It serializes every decision about the show's
 * seats: each RPC method reads and writes SQLite synchronously, with no `await` between the
 * read and the write of one transition, so a transition is atomic and concurrent requests
 * simply queue behind it. Nothing here knows about HTTP.
 */
export class ShowDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private schemaVersion = 0;
  /** The alarm time we last set, so arming needs no `await storage.getAlarm()` mid-transition. */
  private alarmAtMs: number | null = null;
  /** Server time; replaced only by tests that drive expiry without sleeping. */
  clock: () => number = () => Date.now();
  private readonly room: WaitingRoom;
  private readonly waitlist: Waitlist;
  private cachedConfig: ConfigRow | undefined;
  /** No live hold expires before this (a lower bound); undefined until first computed. */
  private earliestExpiryMs: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.room = new WaitingRoom(ctx.storage, () => this.clock());
    this.waitlist = new Waitlist(ctx.storage.sql, () => this.clock());
    ctx.blockConcurrencyWhile(async () => {
      this.schemaVersion = migrateShowSchema(ctx.storage);
      this.alarmAtMs = await ctx.storage.getAlarm();
    });
  }

  /** Does nothing: the baseline of a Worker → DO round trip in `npm run bench:holds`. */
  noop(): number {
    return this.clock();
  }

  /** Health probe: proves the object is reachable and its SQLite storage writes. */
  probe(): { schema_version: number; probes: number } {
    const { count } = this.sql
      .exec<{ count: number }>(
        `INSERT INTO probes (id, count, last_at_ms) VALUES (1, 1, ?)
         ON CONFLICT (id) DO UPDATE SET count = count + 1, last_at_ms = excluded.last_at_ms
         RETURNING count`,
        this.clock(),
      )
      .one();
    return { schema_version: this.schemaVersion, probes: count };
  }

  // ── catalog ────────────────────────────────────────────────────────────────────────────

  /**
   * Loads the show's seats when it is published. Publishing again is harmless: seats already
   * present keep their state (a held or sold seat is never reset by a re-publish).
   */
  initialize(init: ShowInit): SeatCounts {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
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
      this.cachedConfig = undefined;
      for (const seat of init.seats) {
        this.sql.exec(
          `INSERT INTO seats (seat_id, section_id, row_label, row_index, seat_index, accessible, tier_id,
             price_cents, status, block_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seat_id) DO NOTHING`,
          seat.seat_id,
          seat.section_id,
          seat.row,
          seat.row_index,
          seat.seat_index,
          seat.accessible ? 1 : 0,
          seat.tier_id,
          seat.price_cents,
          seat.blocked ? "blocked" : "available",
          seat.blocked ? "organizer" : null,
        );
      }
    });
    return this.counts();
  }

  /** The show as the DO sees it, or null when it was never published. */
  snapshot(): ShowSnapshot | null {
    const config = this.config();
    if (!config) return null;
    return { ...config, counts: this.counts(), server_time_ms: this.clock() };
  }

  /** Cancelling stops all selling; live holds are released so no seat stays stuck. */
  cancel(): SeatCounts | null {
    if (!this.config()) return null;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE show_config SET status = 'cancelled'");
      this.cachedConfig = undefined;
      for (const hold of this.sql.exec<HoldRow>(`SELECT * FROM holds WHERE status IN ${LIVE_HOLD}`).toArray()) {
        this.endHold(hold, "released");
      }
    });
    return this.counts();
  }

  /** Seats by status; available + held + sold + blocked always equals capacity. */
  counts(): SeatCounts {
    const counts: SeatCounts = { available: 0, held: 0, sold: 0, blocked: 0, capacity: 0 };
    for (const row of this.sql.exec<{ status: SeatStatus; n: number }>(
      "SELECT status, count(*) AS n FROM seats GROUP BY status",
    )) {
      if (seatStatuses.includes(row.status)) counts[row.status] = row.n;
      counts.capacity += row.n;
    }
    return counts;
  }

  /**
   * The public overlay: per section available/total/min price, and per seat when a section is
   * asked for. Held, sold and blocked all read "unavailable": the public never learns why.
   */
  availability(sectionId?: string): ShowAvailability | null {
    const config = this.config();
    if (!config) return null;
    this.expireDue(this.clock());
    const sections = this.sql
      .exec<SectionAvailability>(
        `SELECT section_id, count(*) AS total,
           sum(CASE WHEN status = 'available' THEN 1 ELSE 0 END) AS available,
           min(CASE WHEN status = 'available' THEN price_cents END) AS min_price_cents
         FROM seats GROUP BY section_id ORDER BY section_id`,
      )
      .toArray();
    let seats: SeatAvailability[] | undefined;
    if (sectionId !== undefined) {
      seats = this.sql
        .exec<{ seat_id: string; status: SeatStatus; tier_id: string; price_cents: number; accessible: number }>(
          `SELECT seat_id, status, tier_id, price_cents, accessible FROM seats WHERE section_id = ?
           ORDER BY row_index, seat_index`,
          sectionId,
        )
        .toArray()
        .map((seat) => ({
          seat_id: seat.seat_id,
          status: seat.status === "available" ? "available" : "unavailable",
          tier_id: seat.tier_id,
          price_cents: seat.price_cents,
          accessible: seat.accessible === 1,
        }));
    }
    return {
      show_id: config.show_id,
      status: config.status,
      currency: config.currency,
      venue_id: config.venue_id,
      seat_map_version: config.seat_map_version,
      sections,
      ...(seats ? { seats } : {}),
      as_of_ms: this.clock(),
    };
  }

  /** Organizer holds seats back. All or nothing: a held or sold seat cannot be blocked. */
  block(seatIds: string[], reason: string): BlockResult {
    return this.changeBlocks(seatIds, "block", reason);
  }

  unblock(seatIds: string[]): BlockResult {
    return this.changeBlocks(seatIds, "unblock", null);
  }

  private changeBlocks(seatIds: string[], event: "block" | "unblock", reason: string | null): BlockResult {
    if (!this.config()) return { ok: false, code: "show_not_published", seat_ids: [] };
    this.expireDue(this.clock());
    const seats = this.seatsById(seatIds);
    const unknown = seatIds.filter((id) => !seats.has(id));
    if (unknown.length) return { ok: false, code: "unknown_seats", seat_ids: unknown };
    const target: SeatStatus = event === "block" ? "blocked" : "available";
    const conflicting = seatIds.filter((id) => {
      const status = seats.get(id)!.status;
      return status !== target && nextSeatStatus(status, event) === null;
    });
    if (conflicting.length) return { ok: false, code: "seats_unavailable", seat_ids: conflicting };
    const changed = seatIds.filter((id) => seats.get(id)!.status !== target);
    this.ctx.storage.transactionSync(() => {
      for (const id of changed) {
        this.sql.exec("UPDATE seats SET status = ?, block_reason = ? WHERE seat_id = ?", target, reason, id);
      }
    });
    if (event === "unblock" && changed.length) this.serveWaitlist();
    return { ok: true, changed, unchanged: seatIds.filter((id) => !changed.includes(id)), counts: this.counts() };
  }

  // ── holds ──────────────────────────────────────────────────────────────────────────────

  /**
   * Holds seats for a fan: every requested seat flips from available to held in this one
   * synchronous step, or none does. A replay of the same idempotency key returns the hold it
   * created, whatever has happened to it since.
   */
  hold(request: HoldRequest): HoldOutcome {
    const config = this.config();
    if (!config) return { ok: false, code: "show_not_found" };
    const now = this.clock();

    const previous = this.sql
      .exec<HoldRow>(
        "SELECT * FROM holds WHERE fan_id = ? AND idempotency_key = ?",
        request.fan_id,
        request.idempotency_key,
      )
      .toArray()[0];
    if (previous) {
      if (previous.request_hash !== request.request_hash) return { ok: false, code: "idempotency_key_reused" };
      return { ok: true, replayed: true, hold: this.view(previous, config, now) };
    }

    if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    if (now < config.on_sale_at_ms) return { ok: false, code: "show_not_on_sale", on_sale_at_ms: config.on_sale_at_ms };

    this.expireDue(now);
    const wanted = "seat_ids" in request ? request.seat_ids.length : request.quantity;
    const alreadyHeld = this.seatsOfFan(request.fan_id);
    if (alreadyHeld + wanted > config.ticket_limit) {
      return { ok: false, code: "limit_exceeded", limit: config.ticket_limit, already: alreadyHeld };
    }

    if ("seat_ids" in request) {
      // Optimistic: hold them all in one transaction; only when that fails, find out why.
      const created = this.createHold(
        config,
        request.fan_id,
        request.seat_ids,
        request.idempotency_key,
        request.request_hash,
        now,
      );
      if (created) return { ok: true, replayed: false, hold: this.view(created, config, now) };
      const seats = this.seatsById(request.seat_ids);
      const unknown = request.seat_ids.filter((id) => !seats.has(id));
      if (unknown.length) return { ok: false, code: "unknown_seats", seat_ids: unknown };
      const lost = request.seat_ids.filter((id) => nextSeatStatus(seats.get(id)!.status, "hold") === null);
      return { ok: false, code: "seats_unavailable", seat_ids: lost };
    }
    const picked = this.bestAvailable(request.section_id, request.quantity, request.accessible ?? false);
    if (picked === "unknown_section") return { ok: false, code: "unknown_section" };
    if (!picked) return { ok: false, code: "insufficient_availability", seat_ids: [] };
    const created = this.createHold(config, request.fan_id, picked, request.idempotency_key, request.request_hash, now);
    return { ok: true, replayed: false, hold: this.view(created!, config, now) };
  }

  /**
   * Flips every seat from available to held for a new hold, in one transaction, and arms its
   * expiry; or, if any seat is not available (or does not exist), changes nothing and returns null.
   */
  private createHold(
    config: ConfigRow,
    fanId: string,
    seatIds: string[],
    key: string,
    hash: string,
    now: number,
  ): HoldRow | null {
    const holdId = newHoldId(config.show_id);
    const expiresAt = now + config.hold_ttl_ms;
    let price = 0;
    try {
      this.ctx.storage.transactionSync(() => {
        for (const seatId of seatIds) {
          const [seat] = this.sql
            .exec<{ price_cents: number }>(
              `UPDATE seats SET status = ?, hold_id = ? WHERE seat_id = ? AND status IN (${HOLDABLE}) RETURNING price_cents`,
              nextSeatStatus("available", "hold"),
              holdId,
              seatId,
            )
            .toArray();
          if (!seat) throw seatNotHoldable;
          price += seat.price_cents;
        }
        this.sql.exec(
          `INSERT INTO holds (hold_id, fan_id, status, seat_ids, price_cents, expires_at_ms, created_at_ms,
           idempotency_key, request_hash)
         VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
          holdId,
          fanId,
          JSON.stringify(seatIds),
          price,
          expiresAt,
          now,
          key,
          hash,
        );
      });
    } catch (error) {
      if (error === seatNotHoldable) return null;
      throw error;
    }
    if (this.earliestExpiryMs !== undefined) this.earliestExpiryMs = Math.min(this.earliestExpiryMs, expiresAt);
    this.armAlarm(expiresAt);
    return {
      hold_id: holdId,
      fan_id: fanId,
      order_id: null,
      status: "active",
      seat_ids: JSON.stringify(seatIds),
      price_cents: price,
      expires_at_ms: expiresAt,
      request_hash: hash,
      version: 1,
    };
  }

  // ── waitlist ───────────────────────────────────────────────────────────────────────────

  /** Join the waitlist of a sold-out show (or section). Joining again returns the same entry. */
  joinWaitlist(fanId: string, email: string | null, quantity: number, sectionId: string | null): WaitlistOutcome {
    const config = this.config();
    if (!config) return { ok: false, code: "show_not_found" };
    if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    if (quantity > config.ticket_limit) return { ok: false, code: "limit_exceeded", limit: config.ticket_limit };
    this.expireDue(this.clock());
    const scope = sectionId === null ? "" : "WHERE section_id = ?";
    const { total, available } = this.sql
      .exec<{ total: number; available: number }>(
        `SELECT count(*) AS total, coalesce(sum(CASE WHEN status = 'available' THEN 1 ELSE 0 END), 0) AS available
         FROM seats ${scope}`,
        ...(sectionId === null ? [] : [sectionId]),
      )
      .one();
    if (total === 0) return { ok: false, code: sectionId === null ? "show_not_found" : "unknown_section" };
    const existing = this.waitlist.status(fanId);
    const isLive = existing && (existing.status === "waiting" || existing.status === "offered");
    if (available > 0 && !isLive) return { ok: false, code: "not_sold_out" };
    return { ok: true, entry: this.waitlist.join(fanId, email, quantity, sectionId) };
  }

  /** Leave the waitlist; an outstanding offer is released and moves on to the next fan. */
  leaveWaitlist(fanId: string): WaitlistEntry | null {
    if (!this.config()) return null;
    const left = this.waitlist.leave(fanId);
    if (left?.offer_hold_id) {
      const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", left.offer_hold_id).toArray()[0];
      if (hold && (hold.status === "active" || hold.status === "checkout")) {
        this.ctx.storage.transactionSync(() => this.endHold(hold, "released"));
      }
      this.serveWaitlist();
    }
    return this.waitlist.status(fanId);
  }

  waitlistStatus(fanId: string): WaitlistEntry | null {
    return this.config() ? this.waitlist.status(fanId) : null;
  }

  /** Seats came back: offer them down the waitlist, and tell the fans who got an offer. */
  private serveWaitlist() {
    const config = this.config();
    if (!config || config.status === "cancelled") return;
    const now = this.clock();
    const offers = this.waitlist.serve({
      pick: (sectionId, quantity) => {
        const sections =
          sectionId === null
            ? this.sql
                .exec<{ section_id: string }>(
                  "SELECT DISTINCT section_id FROM seats WHERE status = 'available' ORDER BY section_id",
                )
                .toArray()
            : [{ section_id: sectionId }];
        for (const { section_id } of sections) {
          const picked = this.bestAvailable(section_id, quantity, false);
          if (Array.isArray(picked)) return picked;
        }
        return null;
      },
      hold: (fanId, seatIds, key) => this.createHold(config, fanId, seatIds, key, key, now)!.hold_id,
      heldBy: (fanId) => this.seatsOfFan(fanId),
      limit: () => config.ticket_limit,
    });
    if (offers.length) this.ctx.waitUntil(this.notifyOffers());
  }

  /**
   * Writes a `waitlist.offer` notification to the Postgres outbox for each offer not yet told.
   * Runs after the offers are committed here; the alarm retries it if Postgres was away.
   */
  private async notifyOffers() {
    const pending = this.waitlist.unnotified();
    if (pending.length === 0) return;
    const config = this.config()!;
    try {
      await withDatabase(this.env, async (db) => {
        for (const entry of pending) {
          const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", entry.offer_hold_id).one();
          await enqueueNotification(db, "waitlist.offer", hold.hold_id, {
            fan_id: entry.fan_id,
            email: entry.email,
            show_id: config.show_id,
            hold_id: hold.hold_id,
            seat_ids: JSON.parse(hold.seat_ids),
            expires_at_ms: hold.expires_at_ms,
          });
        }
      });
      this.waitlist.markNotified(pending.map((entry) => entry.entry_id));
    } catch (error) {
      console.warn("waitlist offer notice not written yet", error instanceof Error ? error.message : error);
    }
  }

  /** A fan's own hold; another fan's hold does not exist for them. */
  getHold(fanId: string, holdId: string): HoldView | null {
    const config = this.config();
    if (!config) return null;
    const now = this.clock();
    this.expireDue(now);
    const hold = this.ownHold(fanId, holdId);
    return hold ? this.view(hold, config, now) : null;
  }

  /** Releases a live hold; releasing an ended hold again is harmless and changes nothing. */
  release(fanId: string, holdId: string): HoldView | null {
    const config = this.config();
    if (!config) return null;
    const now = this.clock();
    this.expireDue(now);
    const hold = this.ownHold(fanId, holdId);
    if (!hold) return null;
    if (hold.status === "active" || hold.status === "checkout") {
      this.ctx.storage.transactionSync(() => this.endHold(hold, "released"));
      this.serveWaitlist();
    }
    return this.view(this.ownHold(fanId, holdId)!, config, now);
  }

  // ── checkout and finalize (driven by orders in Postgres) ───────────────────────────────

  /**
   * Moves the fan's hold into checkout for an order: its expiry stretches to cover the payment
   * window. The first order id proposed sticks, so a retried order creation lands on the same
   * order, and a hold can only ever back one order.
   */
  beginCheckout(fanId: string, holdId: string, proposedOrderId: string, windowMs: number): CheckoutOutcome {
    const config = this.config();
    if (!config) return { ok: false, code: "hold_not_found" };
    const now = this.clock();
    this.expireDue(now);
    const hold = this.ownHold(fanId, holdId);
    if (!hold) return { ok: false, code: "hold_not_found" };
    if (hold.order_id === null) {
      if (config.status === "cancelled") return { ok: false, code: "show_cancelled" };
      if (hold.status === "expired") return { ok: false, code: "hold_expired" };
      if (hold.status !== "active") return { ok: false, code: "hold_released" };
      const expiresAt = Math.max(hold.expires_at_ms, now + windowMs);
      this.sql.exec(
        "UPDATE holds SET status = 'checkout', order_id = ?, expires_at_ms = ?, version = version + 1 WHERE hold_id = ?",
        proposedOrderId,
        expiresAt,
        holdId,
      );
      this.armAlarm(expiresAt);
    }
    const current = this.ownHold(fanId, holdId)!;
    const seatIds = JSON.parse(current.seat_ids) as string[];
    const seats = seatIds.map((seatId) =>
      this.sql.exec<CheckoutSeat>("SELECT seat_id, tier_id, price_cents FROM seats WHERE seat_id = ?", seatId).one(),
    );
    return { ok: true, order_id: current.order_id!, hold: this.view(current, config, now), seats };
  }

  /**
   * Finalize, step one: the hold's seats become sold. Idempotent. If the hold lapsed but its
   * seats are still free, the paid order takes them; if anyone else has one, nothing changes
   * and the caller refunds.
   */
  sellHold(holdId: string): SellOutcome {
    const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).toArray()[0];
    if (!hold) return { ok: false, code: "hold_not_found" };
    const seatIds = JSON.parse(hold.seat_ids) as string[];
    if (hold.status === "sold") return { ok: true, seat_ids: seatIds };
    const seats = this.seatsById(seatIds);
    const taken = seatIds.filter((id) => {
      const seat = this.sql
        .exec<{ status: SeatStatus; hold_id: string | null }>("SELECT status, hold_id FROM seats WHERE seat_id = ?", id)
        .one();
      const ours = seat.status === "held" && seat.hold_id === holdId;
      return !ours && seats.get(id)!.status !== "available";
    });
    if (taken.length) return { ok: false, code: "seats_taken", seat_ids: taken };
    this.ctx.storage.transactionSync(() => {
      for (const seatId of seatIds) {
        const seat = this.sql.exec<{ status: SeatStatus }>("SELECT status FROM seats WHERE seat_id = ?", seatId).one();
        // A lapsed hold's free seat is taken back first (available → held), then sold.
        if (seat.status === "available") {
          this.sql.exec(
            "UPDATE seats SET status = ?, hold_id = ? WHERE seat_id = ?",
            nextSeatStatus("available", "hold"),
            holdId,
            seatId,
          );
        }
        this.sql.exec("UPDATE seats SET status = ? WHERE seat_id = ?", nextSeatStatus("held", "sell"), seatId);
      }
      this.sql.exec("UPDATE holds SET status = 'sold', version = version + 1 WHERE hold_id = ?", holdId);
      this.waitlist.offerTaken(holdId);
    });
    return { ok: true, seat_ids: seatIds };
  }

  /** Payment failed or the order was cancelled: a live hold's seats go back on sale at once. */
  releaseForOrder(holdId: string): HoldView | null {
    const config = this.config();
    const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).toArray()[0];
    if (!config || !hold) return null;
    if (hold.status === "active" || hold.status === "checkout") {
      this.ctx.storage.transactionSync(() => this.endHold(hold, "released"));
    }
    return this.view(
      this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).one(),
      config,
      this.clock(),
    );
  }

  /** A refunded order's seats go back on sale (sold → available). Idempotent. */
  refundHold(holdId: string): HoldView | null {
    const config = this.config();
    const hold = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).toArray()[0];
    if (!config || !hold) return null;
    if (hold.status === "sold") {
      this.ctx.storage.transactionSync(() => {
        for (const seatId of JSON.parse(hold.seat_ids) as string[]) {
          this.sql.exec(
            "UPDATE seats SET status = ?, hold_id = NULL WHERE seat_id = ? AND status = 'sold' AND hold_id = ?",
            nextSeatStatus("sold", "refund"),
            seatId,
            holdId,
          );
        }
        this.sql.exec("UPDATE holds SET status = 'refunded', version = version + 1 WHERE hold_id = ?", holdId);
      });
      this.serveWaitlist();
    }
    return this.view(
      this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).one(),
      config,
      this.clock(),
    );
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
        const seat = this.sql
          .exec<{ status: SeatStatus; hold_id: string | null }>(
            "SELECT status, hold_id FROM seats WHERE seat_id = ?",
            seatId,
          )
          .toArray()[0];
        if (!seat || (seat.status === "sold" && seat.hold_id === holdId)) continue;
        if (seat.status !== "available") {
          conflicts.push(seatId);
          continue;
        }
        this.sql.exec("UPDATE seats SET status = 'sold', hold_id = ? WHERE seat_id = ?", holdId, seatId);
        repaired.push(seatId);
      }
      if (repaired.length)
        this.sql.exec("UPDATE holds SET status = 'sold', version = version + 1 WHERE hold_id = ?", holdId);
    });
    return { repaired, conflicts };
  }

  /** Every sold seat with the hold (and order) that bought it: reconciliation's view. */
  soldSeats(): SoldSeat[] {
    return this.sql
      .exec<SoldSeat>(
        `SELECT seats.seat_id, seats.hold_id, holds.order_id FROM seats
         LEFT JOIN holds ON holds.hold_id = seats.hold_id WHERE seats.status = 'sold' ORDER BY seats.seat_id`,
      )
      .toArray();
  }

  /**
   * One alarm serves both timers: hold expiry and the waiting room's admission tick. Safe to
   * run twice, late, or with nothing to do; it re-arms for whichever is due first.
   */
  override async alarm(): Promise<void> {
    this.alarmAtMs = null;
    const now = this.clock();
    this.expireDue(now);
    if (this.config()) this.room.tick(now);
    this.rearm(now);
    await this.notifyOffers();
  }

  private rearm(now: number) {
    const nextExpiry = this.sql
      .exec<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM holds WHERE status IN ${LIVE_HOLD}`)
      .one().at;
    const nextTick = this.config() ? this.room.nextTickAt(now) : null;
    const next = [nextExpiry, nextTick].filter((t): t is number => t !== null);
    if (next.length) this.armAlarm(Math.min(...next));
  }

  // ── waiting room ───────────────────────────────────────────────────────────────────────

  private inRoom<T>(work: (config: ConfigRow) => T, requireEnabled = true): RoomOutcome<T> {
    const config = this.config();
    if (!config) return { ok: false, code: "show_not_found" };
    if (requireEnabled && config.status === "cancelled") return { ok: false, code: "show_cancelled" };
    if (requireEnabled && !this.room.config().enabled) return { ok: false, code: "room_disabled" };
    return { ok: true, value: work(config) };
  }

  roomStatus(): RoomStatus | null {
    return this.config() ? this.room.status() : null;
  }

  joinQueue(fanId: string): RoomOutcome<QueueSession> {
    return this.inRoom(() => {
      const session = this.room.join(fanId);
      this.rearm(this.clock());
      return session;
    });
  }

  pollQueue(fanId: string, sessionId: string): RoomOutcome<QueueSession | null> {
    return this.inRoom(() => {
      const now = this.clock();
      // A poll may arrive just after the tick was due: run it now rather than answer stale.
      this.room.tick(now);
      const session = this.room.touch(fanId, sessionId);
      this.rearm(now);
      return session;
    }, false);
  }

  /** Heartbeats of waiting fans, batched by the edge (one call per isolate per second). */
  queueSeen(sessions: { fan_id: string; session_id: string }[]): number {
    return this.config() ? this.room.seen(sessions) : 0;
  }

  configureRoom(patch: RoomConfigPatch): RoomOutcome<RoomStats> {
    return this.inRoom(() => {
      this.room.configure(patch);
      this.rearm(this.clock());
      return this.room.stats();
    }, false);
  }

  roomStats(): RoomOutcome<RoomStats> {
    return this.inRoom(() => this.room.stats(), false);
  }

  private expireDue(now: number): number {
    // Most calls come long before the earliest expiry: skip the query then.
    if (this.earliestExpiryMs !== undefined && now < this.earliestExpiryMs) return 0;
    const due = this.sql
      .exec<HoldRow>(`SELECT * FROM holds WHERE status IN ${LIVE_HOLD} AND expires_at_ms <= ?`, now)
      .toArray();
    if (due.length) {
      this.ctx.storage.transactionSync(() => {
        for (const hold of due) this.endHold(hold, "expired");
      });
      this.serveWaitlist();
    }
    const next = this.sql
      .exec<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM holds WHERE status IN ${LIVE_HOLD}`)
      .one().at;
    this.earliestExpiryMs = next ?? Number.POSITIVE_INFINITY;
    return due.length;
  }

  /** Ends a live hold and puts its seats back on sale (the seat machine's `release`). */
  private endHold(hold: HoldRow, status: "released" | "expired") {
    const event: SeatEvent = "release";
    for (const seatId of JSON.parse(hold.seat_ids) as string[]) {
      const seat = this.sql
        .exec<{ status: SeatStatus; hold_id: string | null }>(
          "SELECT status, hold_id FROM seats WHERE seat_id = ?",
          seatId,
        )
        .one();
      // Only seats this hold still owns go back; a seat it no longer owns is left alone.
      if (seat.hold_id !== hold.hold_id) continue;
      const next = nextSeatStatus(seat.status, event);
      if (next) this.sql.exec("UPDATE seats SET status = ?, hold_id = NULL WHERE seat_id = ?", next, seatId);
    }
    this.sql.exec("UPDATE holds SET status = ?, version = version + 1 WHERE hold_id = ?", status, hold.hold_id);
    this.waitlist.offerEnded(hold.hold_id);
  }

  private armAlarm(at: number) {
    if (this.alarmAtMs !== null && this.alarmAtMs <= at) return;
    this.alarmAtMs = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * Best available in a section: the frontmost row with `quantity` adjacent free seats (the
   * run nearest the row's centre); failing that, the free seats of the nearest rows.
   */
  private bestAvailable(sectionId: string, quantity: number, accessible: boolean): string[] | null | "unknown_section" {
    const exists = this.sql.exec("SELECT 1 FROM seats WHERE section_id = ? LIMIT 1", sectionId).toArray().length;
    if (!exists) return "unknown_section";
    const free = this.sql
      .exec<SeatRow>(
        `SELECT seat_id, status, row_index, seat_index FROM seats
         WHERE section_id = ? AND status = 'available' ${accessible ? "AND accessible = 1" : ""}
         ORDER BY row_index, seat_index`,
        sectionId,
      )
      .toArray();
    if (free.length < quantity) return null;
    const rows = new Map<number, SeatRow[]>();
    for (const seat of free) rows.set(seat.row_index, [...(rows.get(seat.row_index) ?? []), seat]);
    for (const seats of rows.values()) {
      let best: SeatRow[] | null = null;
      let bestDistance = Number.POSITIVE_INFINITY;
      const centre = (seats[0]!.seat_index + seats[seats.length - 1]!.seat_index) / 2;
      for (let start = 0; start + quantity <= seats.length; start++) {
        const run = seats.slice(start, start + quantity);
        if (run[quantity - 1]!.seat_index - run[0]!.seat_index !== quantity - 1) continue;
        const distance = Math.abs((run[0]!.seat_index + run[quantity - 1]!.seat_index) / 2 - centre);
        if (distance < bestDistance) {
          best = run;
          bestDistance = distance;
        }
      }
      if (best) return best.map((seat) => seat.seat_id);
    }
    return free.slice(0, quantity).map((seat) => seat.seat_id);
  }

  private seatsOfFan(fanId: string): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT coalesce(sum(json_array_length(seat_ids)), 0) AS n FROM holds
         WHERE fan_id = ? AND status IN ('active', 'checkout', 'sold')`,
        fanId,
      )
      .one().n;
  }

  private seatsById(seatIds: string[]): Map<string, SeatRow> {
    const seats = new Map<string, SeatRow>();
    for (const seatId of seatIds) {
      const row = this.sql
        .exec<SeatRow>("SELECT seat_id, status, row_index, seat_index FROM seats WHERE seat_id = ?", seatId)
        .toArray()[0];
      if (row) seats.set(seatId, row);
    }
    return seats;
  }

  private ownHold(fanId: string, holdId: string): HoldRow | undefined {
    return this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ? AND fan_id = ?", holdId, fanId).toArray()[0];
  }

  /**
   * The show's config, read once and kept in memory: every hold needs it, and it only changes
   * through `initialize` and `cancel`, which drop the cached copy.
   */
  private config(): ConfigRow | undefined {
    this.cachedConfig ??= this.sql.exec<ConfigRow>("SELECT * FROM show_config WHERE id = 1").toArray()[0];
    return this.cachedConfig;
  }

  private view(hold: HoldRow, config: ConfigRow, now: number): HoldView {
    return {
      hold_id: hold.hold_id,
      show_id: config.show_id,
      seat_ids: JSON.parse(hold.seat_ids),
      status: hold.status,
      expires_at_ms: hold.expires_at_ms,
      server_time_ms: now,
      price_cents: hold.price_cents,
      currency: config.currency,
      version: hold.version,
    };
  }
}
