// The show's waitlist, kept in the Show DO's SQLite. When seats come back (a hold expires or is
// released, a payment fails, an order is refunded, a block is lifted), the next waiting fan in
// line whose request fits is offered them as a reserved hold. An offer is an ordinary hold, so
// no seat can be offered to two fans at once; an offer that lapses moves on to the next fan.

import type { WaitlistEntry } from "./types";

export type EntryRow = {
  entry_id: number;
  fan_id: string;
  email: string | null;
  quantity: number;
  section_id: string | null;
  status: WaitlistEntry["status"];
  joined_at_ms: number;
  offer_hold_id: string | null;
  notified: number;
};

export interface SeatSource {
  /** Free seats in the section (or the whole show), from the tallies: no seat is read. */
  free(sectionId: string | null): number;
  /** Free seats for the request, adjacent where possible, or null when there are not enough. */
  pick(sectionId: string | null, quantity: number): string[] | null;
  /** Holds `seatIds` for the fan as an offer; returns the hold id, or null if they are gone. */
  hold(fanId: string, seatIds: string[]): string | null;
  /** Seats the fan already holds or bought, against the per-fan limit. */
  heldBy(fanId: string): number;
  limit(): number;
}

export class Waitlist {
  constructor(
    private readonly sql: SqlStorage,
    private readonly clock: () => number,
  ) {}

  join(fanId: string, email: string | null, quantity: number, sectionId: string | null): WaitlistEntry {
    const live = this.liveEntry(fanId);
    if (live) return this.view(live);
    this.sql.exec(
      `INSERT INTO waitlist (fan_id, email, quantity, section_id, status, joined_at_ms) VALUES (?, ?, ?, ?, 'waiting', ?)`,
      fanId,
      email,
      quantity,
      sectionId,
      this.clock(),
    );
    return this.view(this.liveEntry(fanId)!);
  }

  /** Leaving returns the entry; an outstanding offer is for the caller to release. */
  leave(fanId: string): EntryRow | null {
    const live = this.liveEntry(fanId);
    if (!live) return null;
    this.sql.exec("UPDATE waitlist SET status = 'left' WHERE entry_id = ?", live.entry_id);
    return live;
  }

  status(fanId: string): WaitlistEntry | null {
    const entry = this.sql
      .exec<EntryRow>("SELECT * FROM waitlist WHERE fan_id = ? ORDER BY entry_id DESC LIMIT 1", fanId)
      .toArray()[0];
    return entry ? this.view(entry) : null;
  }

  /** An offered hold ended without an order: the fan's turn is over. */
  offerEnded(holdId: string) {
    this.sql.exec("UPDATE waitlist SET status = 'lapsed' WHERE offer_hold_id = ? AND status = 'offered'", holdId);
  }

  /** The offered hold was bought. */
  offerTaken(holdId: string) {
    this.sql.exec("UPDATE waitlist SET status = 'fulfilled' WHERE offer_hold_id = ? AND status = 'offered'", holdId);
  }

  /**
   * Offers free seats to waiting fans, in the order they joined. Returns the new offers. The
   * cost follows what came back, not the size of the list: nothing free, nothing read; an
   * entry wanting more than is free is passed over from the tallies, without reading seats;
   * the walk stops when the free seats are gone.
   */
  serve(seats: SeatSource): EntryRow[] {
    const offered: EntryRow[] = [];
    let free = seats.free(null);
    if (free === 0) return offered;
    const waiting = this.sql
      .exec<EntryRow>("SELECT * FROM waitlist WHERE status = 'waiting' AND quantity <= ? ORDER BY entry_id", free)
      .toArray();
    for (const entry of waiting) {
      if (free === 0) break;
      if (entry.quantity > (entry.section_id === null ? free : seats.free(entry.section_id))) continue;
      try {
        if (seats.heldBy(entry.fan_id) + entry.quantity > seats.limit()) {
          this.sql.exec("UPDATE waitlist SET status = 'lapsed' WHERE entry_id = ?", entry.entry_id);
          continue;
        }
        const picked = seats.pick(entry.section_id, entry.quantity);
        const holdId = picked && seats.hold(entry.fan_id, picked);
        if (!holdId) continue;
        this.sql.exec(
          "UPDATE waitlist SET status = 'offered', offer_hold_id = ? WHERE entry_id = ?",
          holdId,
          entry.entry_id,
        );
        free -= entry.quantity;
        offered.push({ ...entry, status: "offered", offer_hold_id: holdId });
      } catch (error) {
        // One entry that cannot be served must not stop the fans behind it.
        console.error("waitlist entry skipped", entry.entry_id, error instanceof Error ? error.message : error);
        this.sql.exec("UPDATE waitlist SET status = 'lapsed' WHERE entry_id = ?", entry.entry_id);
      }
    }
    return offered;
  }

  hasWaiting(): boolean {
    return this.sql.exec("SELECT 1 FROM waitlist WHERE status = 'waiting' LIMIT 1").toArray().length > 0;
  }

  private liveEntry(fanId: string): EntryRow | undefined {
    return this.sql
      .exec<EntryRow>("SELECT * FROM waitlist WHERE fan_id = ? AND status IN ('waiting', 'offered')", fanId)
      .toArray()[0];
  }

  private view(entry: EntryRow): WaitlistEntry {
    const ahead =
      entry.status === "waiting"
        ? this.sql
            .exec<{ n: number }>(
              "SELECT count(*) AS n FROM waitlist WHERE status = 'waiting' AND entry_id < ?",
              entry.entry_id,
            )
            .one().n
        : 0;
    return {
      fan_id: entry.fan_id,
      quantity: entry.quantity,
      section_id: entry.section_id,
      status: entry.status,
      position: entry.status === "waiting" ? ahead + 1 : null,
      joined_at_ms: entry.joined_at_ms,
      offer_hold_id: entry.offer_hold_id,
    };
  }
}
