// The show's seats and their tallies. Every status change goes through the seat machine
// (`nextSeatStatus`); SQLite triggers keep `seat_tallies` exact, so counts and the public
// overlay never scan every seat of a stadium.

import { bestAvailable, type FreeSeat } from "./best-available";
import type { GaSections } from "./ga";
import { nextSeatStatus, type SeatStatus, seatStatuses } from "./seat-state";
import type {
  BlockResult,
  OrganizerSeat,
  SeatAvailability,
  SeatCounts,
  SectionAvailability,
  ShowSeatInit,
} from "./types";

export type SeatRow = FreeSeat & { status: SeatStatus; hold_id: string | null };

/** The statuses the seat machine lets a hold start from, for the hold's conditional UPDATE. */
const HOLDABLE = seatStatuses
  .filter((status) => nextSeatStatus(status, "hold") !== null)
  .map((status) => `'${status}'`)
  .join(", ");

export class Seats {
  constructor(
    private readonly sql: SqlStorage,
    private readonly ga: GaSections,
  ) {}

  load(seats: readonly ShowSeatInit[]) {
    for (const seat of seats) {
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
  }

  /** Seats by status; available + held + sold + blocked always equals capacity. */
  counts(sectionId: string | null = null): SeatCounts {
    const counts: SeatCounts = { available: 0, held: 0, sold: 0, blocked: 0, capacity: 0 };
    const rows =
      sectionId === null
        ? this.sql.exec<{ status: SeatStatus; n: number }>(
            "SELECT status, sum(n) AS n FROM seat_tallies GROUP BY status",
          )
        : this.sql.exec<{ status: SeatStatus; n: number }>(
            "SELECT status, sum(n) AS n FROM seat_tallies WHERE section_id = ? GROUP BY status",
            sectionId,
          );
    for (const row of rows) {
      if (seatStatuses.includes(row.status)) counts[row.status] = row.n;
      counts.capacity += row.n;
    }
    return counts;
  }

  /** Per section: total, available and the cheapest available price. */
  sections(): SectionAvailability[] {
    return this.sql
      .exec<SectionAvailability>(
        `SELECT section_id, sum(n) AS total,
           sum(CASE WHEN status = 'available' THEN n ELSE 0 END) AS available,
           min(CASE WHEN status = 'available' AND n > 0 THEN price_cents END) AS min_price_cents
         FROM seat_tallies GROUP BY section_id HAVING sum(n) > 0 ORDER BY section_id`,
      )
      .toArray();
  }

  /** Sections with at least `quantity` free seats, in id order. */
  sectionsWithFree(quantity: number): string[] {
    return this.sql
      .exec<{ section_id: string }>(
        `SELECT section_id FROM seat_tallies WHERE status = 'available'
         GROUP BY section_id HAVING sum(n) >= ? ORDER BY section_id`,
        quantity,
      )
      .toArray()
      .map((row) => row.section_id);
  }

  /** A seated section's seats; none for a GA section, whose places are capacity, not seats. */
  seatsOfSection(sectionId: string): SeatAvailability[] {
    if (this.ga.has(sectionId)) return [];
    return this.sql
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

  /** A section's seats as the organizer sees them: every state, and why a seat is blocked. */
  statesOfSection(sectionId: string): OrganizerSeat[] {
    return this.sql
      .exec<{
        seat_id: string;
        status: SeatStatus;
        block_reason: string | null;
        tier_id: string;
        price_cents: number;
        accessible: number;
      }>(
        `SELECT seat_id, status, block_reason, tier_id, price_cents, accessible FROM seats WHERE section_id = ?
         ORDER BY row_index, seat_index`,
        sectionId,
      )
      .toArray()
      .map((seat) => ({
        seat_id: seat.seat_id,
        status: seat.status,
        block_reason: seat.status === "blocked" ? seat.block_reason : null,
        tier_id: seat.tier_id,
        price_cents: seat.price_cents,
        accessible: seat.accessible === 1,
      }));
  }

  byIds(seatIds: readonly string[]): Map<string, SeatRow> {
    const seats = new Map<string, SeatRow>();
    for (const seatId of seatIds) {
      const row = this.sql
        .exec<SeatRow>("SELECT seat_id, status, hold_id, row_index, seat_index FROM seats WHERE seat_id = ?", seatId)
        .toArray()[0];
      if (row) seats.set(seatId, row);
    }
    return seats;
  }

  checkoutLines(seatIds: readonly string[]) {
    return seatIds.map((seatId) =>
      this.sql
        .exec<{ seat_id: string; tier_id: string; price_cents: number }>(
          "SELECT seat_id, tier_id, price_cents FROM seats WHERE seat_id = ?",
          seatId,
        )
        .one(),
    );
  }

  /**
   * Flips one seat from available to held for `holdId`; returns its price, or null (and changes
   * nothing) when the seat does not exist or is not available. Call inside the hold's transaction.
   */
  holdOne(seatId: string, holdId: string): number | null {
    const [seat] = this.sql
      .exec<{ price_cents: number }>(
        `UPDATE seats SET status = ?, hold_id = ? WHERE seat_id = ? AND status IN (${HOLDABLE}) RETURNING price_cents`,
        nextSeatStatus("available", "hold"),
        holdId,
        seatId,
      )
      .toArray();
    return seat ? seat.price_cents : null;
  }

  /** The hold's seats go back on sale; a seat it no longer owns is left alone. */
  release(holdId: string, seatIds: readonly string[]) {
    for (const seat of this.byIds(seatIds).values()) {
      if (seat.hold_id !== holdId) continue;
      const next = nextSeatStatus(seat.status, "release");
      if (next) this.sql.exec("UPDATE seats SET status = ?, hold_id = NULL WHERE seat_id = ?", next, seat.seat_id);
    }
  }

  /** Sells the hold's seats, first taking back any that its lapsed hold let go and nobody took. */
  sell(holdId: string, seatIds: readonly string[]) {
    for (const seat of this.byIds(seatIds).values()) {
      if (seat.status === "available") {
        this.sql.exec(
          "UPDATE seats SET status = ?, hold_id = ? WHERE seat_id = ?",
          nextSeatStatus("available", "hold"),
          holdId,
          seat.seat_id,
        );
      }
      this.sql.exec("UPDATE seats SET status = ? WHERE seat_id = ?", nextSeatStatus("held", "sell"), seat.seat_id);
    }
  }

  /** Sold seats of `holdId` go back on sale (sold → available); returns the ones that did. */
  refund(holdId: string, seatIds: readonly string[]): string[] {
    const returned: string[] = [];
    for (const seatId of seatIds) {
      const changed = this.sql.exec(
        "UPDATE seats SET status = ?, hold_id = NULL WHERE seat_id = ? AND status = 'sold' AND hold_id = ?",
        nextSeatStatus("sold", "refund"),
        seatId,
        holdId,
      ).rowsWritten;
      if (changed) returned.push(seatId);
    }
    return returned;
  }

  /** Reconciliation: a free seat is sold to `holdId` again; returns false if someone else has it. */
  resell(holdId: string, seatId: string): "repaired" | "already" | "conflict" | "unknown" {
    const seat = this.byIds([seatId]).get(seatId);
    if (!seat) return "unknown";
    if (seat.status === "sold" && seat.hold_id === holdId) return "already";
    if (seat.status !== "available") return "conflict";
    this.sql.exec("UPDATE seats SET status = 'sold', hold_id = ? WHERE seat_id = ?", holdId, seatId);
    return "repaired";
  }

  /**
   * Organizer blocks (or unblocks) seats, all or nothing: a held or sold seat cannot be
   * blocked. Seats already in the target state are left as they are. Call inside a transaction.
   */
  changeBlocks(seatIds: string[], block: boolean, reason: string | null): BlockResult {
    const seats = this.byIds(seatIds);
    const unknown = seatIds.filter((id) => !seats.has(id));
    if (unknown.length) return { ok: false, code: "unknown_seats", seat_ids: unknown };
    const target = block ? "blocked" : "available";
    const from = block ? "available" : "blocked";
    const conflicting = seatIds.filter((id) => ![target, from].includes(seats.get(id)!.status));
    if (conflicting.length) return { ok: false, code: "seats_unavailable", seat_ids: conflicting };
    const changed = seatIds.filter((id) => seats.get(id)!.status !== target);
    this.setBlocked(changed, block, reason);
    return { ok: true, changed, unchanged: seatIds.filter((id) => !changed.includes(id)), counts: this.counts() };
  }

  private setBlocked(seatIds: readonly string[], blocked: boolean, reason: string | null) {
    for (const seatId of seatIds) {
      this.sql.exec(
        "UPDATE seats SET status = ?, block_reason = ? WHERE seat_id = ?",
        blocked ? "blocked" : "available",
        reason,
        seatId,
      );
    }
  }

  hasSection(sectionId: string): boolean {
    return this.sql.exec("SELECT 1 FROM seat_tallies WHERE section_id = ? LIMIT 1", sectionId).toArray().length > 0;
  }

  /** Best available in a section, or in the first section that has enough when none is named. */
  pickAnywhere(sectionId: string | null, quantity: number): string[] | null {
    const sections = sectionId === null ? this.sectionsWithFree(quantity) : [sectionId];
    for (const section of sections) {
      const picked = this.pick(section, quantity, false);
      if (picked) return picked;
    }
    return null;
  }

  /**
   * Best available in a section; null when there are not enough free seats. In a GA section,
   * any free places (`accessible` has no meaning there: a GA floor has no numbered seats).
   */
  pick(sectionId: string, quantity: number, accessible: boolean): string[] | null {
    if (this.ga.has(sectionId)) return this.ga.pick(sectionId, quantity);
    // The tallies answer "not enough" without reading a seat.
    if (!accessible && this.counts(sectionId).available < quantity) return null;
    const free = this.sql
      .exec<FreeSeat>(
        `SELECT seat_id, row_index, seat_index FROM seats
         WHERE section_id = ? AND status = 'available' ${accessible ? "AND accessible = 1" : ""}
         ORDER BY row_index, seat_index`,
        sectionId,
      )
      .toArray();
    return bestAvailable(free, quantity);
  }

  soldWithHolds() {
    return this.sql
      .exec<{ seat_id: string; hold_id: string; order_id: string | null; sold_at_ms: number | null }>(
        `SELECT seats.seat_id, seats.hold_id, holds.order_id, holds.sold_at_ms FROM seats
         LEFT JOIN holds ON holds.hold_id = seats.hold_id WHERE seats.status = 'sold' ORDER BY seats.seat_id`,
      )
      .toArray();
  }
}
