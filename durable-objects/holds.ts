// The show's holds: who has which seats until when, and what became of them. Seats move only
// through `Seats`; this module owns the `holds` table and the per-fan count the limit is kept on.

import { newHoldId } from "../src/lib/ids";
import { gaOfPlaces } from "./ga";
import type { Seats } from "./seats";
import type { HoldView, ShowSnapshot } from "./types";

export type HoldRow = {
  hold_id: string;
  fan_id: string;
  order_id: string | null;
  status: HoldView["status"];
  seat_ids: string;
  price_cents: number;
  expires_at_ms: number;
  request_hash: string | null;
  version: number;
  sold_at_ms: number | null;
};

type ShowConfig = Pick<ShowSnapshot, "show_id" | "hold_ttl_ms" | "currency">;

export const LIVE_HOLD = "('active', 'checkout')";
/** Statuses whose seats count against the fan's limit. */
const COUNTED = "('active', 'checkout', 'sold')";

/** Thrown inside a hold's transaction to roll it back when a seat cannot be held. */
const seatNotHoldable = new Error("seat not holdable");

export const seatIdsOf = (hold: Pick<HoldRow, "seat_ids">): string[] => JSON.parse(hold.seat_ids);
export const isLive = (hold: Pick<HoldRow, "status">) => hold.status === "active" || hold.status === "checkout";

export class Holds {
  /** No live hold expires before this (a lower bound); undefined until first computed. */
  #earliestExpiryMs: number | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly seats: Seats,
  ) {}

  private get sql() {
    return this.storage.sql;
  }

  get(holdId: string): HoldRow | undefined {
    return this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ?", holdId).toArray()[0];
  }

  /** A fan's own hold; another fan's hold does not exist for them. */
  own(fanId: string, holdId: string): HoldRow | undefined {
    return this.sql.exec<HoldRow>("SELECT * FROM holds WHERE hold_id = ? AND fan_id = ?", holdId, fanId).toArray()[0];
  }

  byKey(fanId: string, key: string): HoldRow | undefined {
    return this.sql
      .exec<HoldRow>("SELECT * FROM holds WHERE fan_id = ? AND idempotency_key = ?", fanId, key)
      .toArray()[0];
  }

  /** Seats the fan holds, has in checkout, or bought: what the per-fan limit is kept on. */
  seatsOfFan(fanId: string): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT coalesce(sum(json_array_length(seat_ids)), 0) AS n FROM holds WHERE fan_id = ? AND status IN ${COUNTED}`,
        fanId,
      )
      .one().n;
  }

  /**
   * Flips every seat from available to held for a new hold, in one transaction, and records
   * the hold; or, if any seat is not available (or does not exist), changes nothing and returns
   * null. `key` is the fan's Idempotency-Key; holds Onsale makes itself (waitlist offers) have
   * none, so no fan can collide with them.
   */
  create(
    config: ShowConfig,
    fanId: string,
    seatIds: readonly string[],
    request: { key: string; hash: string } | null,
    now: number,
  ): HoldRow | null {
    const holdId = newHoldId(config.show_id);
    const expiresAt = now + config.hold_ttl_ms;
    let price = 0;
    try {
      this.storage.transactionSync(() => {
        for (const seatId of seatIds) {
          const seatPrice = this.seats.holdOne(seatId, holdId);
          if (seatPrice === null) throw seatNotHoldable;
          price += seatPrice;
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
          request?.key ?? null,
          request?.hash ?? null,
        );
      });
    } catch (error) {
      if (error === seatNotHoldable) return null;
      throw error;
    }
    if (this.#earliestExpiryMs !== undefined) this.#earliestExpiryMs = Math.min(this.#earliestExpiryMs, expiresAt);
    return {
      hold_id: holdId,
      fan_id: fanId,
      order_id: null,
      status: "active",
      seat_ids: JSON.stringify(seatIds),
      price_cents: price,
      expires_at_ms: expiresAt,
      request_hash: request?.hash ?? null,
      version: 1,
      sold_at_ms: null,
    };
  }

  /** Ends a live hold and puts its seats back on sale. Call inside a transaction. */
  end(hold: HoldRow, status: "released" | "expired") {
    this.seats.release(hold.hold_id, seatIdsOf(hold));
    this.sql.exec("UPDATE holds SET status = ?, version = version + 1 WHERE hold_id = ?", status, hold.hold_id);
  }

  beginCheckout(holdId: string, orderId: string, expiresAt: number) {
    this.sql.exec(
      "UPDATE holds SET status = 'checkout', order_id = ?, expires_at_ms = ?, version = version + 1 WHERE hold_id = ?",
      orderId,
      expiresAt,
      holdId,
    );
    if (this.#earliestExpiryMs !== undefined) this.#earliestExpiryMs = Math.min(this.#earliestExpiryMs, expiresAt);
  }

  /** A later expiry for a hold in checkout (never an earlier one). */
  stretch(holdId: string, expiresAt: number) {
    this.sql.exec(
      "UPDATE holds SET expires_at_ms = max(expires_at_ms, ?), version = version + 1 WHERE hold_id = ?",
      expiresAt,
      holdId,
    );
  }

  markSold(holdId: string, now: number) {
    this.sql.exec(
      "UPDATE holds SET status = 'sold', sold_at_ms = coalesce(sold_at_ms, ?), version = version + 1 WHERE hold_id = ?",
      now,
      holdId,
    );
  }

  /**
   * Some seats of a sold hold were refunded: the hold keeps only the rest, so the fan's limit
   * counts what they still own; with none left the hold is refunded.
   */
  dropSeats(hold: HoldRow, seatIds: readonly string[]) {
    const gone = new Set(seatIds);
    const kept = seatIdsOf(hold).filter((id) => !gone.has(id));
    this.sql.exec(
      "UPDATE holds SET seat_ids = ?, status = ?, version = version + 1 WHERE hold_id = ?",
      JSON.stringify(kept),
      kept.length ? hold.status : "refunded",
      hold.hold_id,
    );
  }

  markRefunded(holdId: string) {
    this.sql.exec("UPDATE holds SET status = 'refunded', version = version + 1 WHERE hold_id = ?", holdId);
  }

  live(): HoldRow[] {
    return this.sql.exec<HoldRow>(`SELECT * FROM holds WHERE status IN ${LIVE_HOLD}`).toArray();
  }

  /** Live holds due to expire at `now`; null (without a query) before the earliest expiry. */
  due(now: number): HoldRow[] | null {
    if (this.#earliestExpiryMs !== undefined && now < this.#earliestExpiryMs) return null;
    return this.sql
      .exec<HoldRow>(`SELECT * FROM holds WHERE status IN ${LIVE_HOLD} AND expires_at_ms <= ?`, now)
      .toArray();
  }

  /** The earliest expiry of a live hold, or null; remembered so `due` can skip its query. */
  nextExpiry(): number | null {
    const at = this.sql
      .exec<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM holds WHERE status IN ${LIVE_HOLD}`)
      .one().at;
    this.#earliestExpiryMs = at ?? Number.POSITIVE_INFINITY;
    return at;
  }

  view(hold: HoldRow, config: ShowConfig, now: number): HoldView {
    const ids = seatIdsOf(hold);
    const ga = gaOfPlaces(ids);
    return {
      hold_id: hold.hold_id,
      show_id: config.show_id,
      seat_ids: ga ? [] : ids,
      ga,
      status: hold.status,
      expires_at_ms: hold.expires_at_ms,
      server_time_ms: now,
      price_cents: hold.price_cents,
      currency: config.currency,
      version: hold.version,
    };
  }
}
