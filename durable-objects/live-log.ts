// The Show DO's side of the live seat map: the log of public seat changes (written by a
// trigger, `seat_changes`) turned into sequence-numbered batches, and the snapshot a feed loads.
// Sending the batches to the feed objects stays with the Show DO, which owns `env` and `ctx`.

import type { GaSections } from "./ga";
import type { LiveBatch, LiveSeats, LiveSnapshot } from "./live";
import type { Seats } from "./seats";
import type { Inventory } from "./types";

export class LiveLog {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly seats: Seats,
    private readonly ga: GaSections,
  ) {}

  private get sql() {
    return this.storage.sql;
  }

  /**
   * Every change logged since the last batch, collapsed to its latest state per seat, as one
   * batch; the log is emptied up to it. Null when nothing changed, unless `inventoryChanged`
   * (the last held seats were sold: sold out), which makes a batch with no seat: it needs a
   * sequence number of its own, so a marker row (no seat) takes the next one. A GA section
   * changes by its count only (`sections`): its places are no seats to show.
   */
  takeBatch(showId: string, now: number, inventory: Inventory, inventoryChanged: boolean): LiveBatch | null {
    const readChanges = () =>
      this.sql
        .exec<{ seq: number; seat_id: string; section_id: string; available: number }>(
          "SELECT seq, seat_id, section_id, available FROM seat_changes ORDER BY seq",
        )
        .toArray();
    let changes = readChanges();
    if (!changes.length && !inventoryChanged) return null;
    if (!changes.length) {
      this.sql.exec("INSERT INTO seat_changes (seat_id, section_id, available) VALUES ('', '', 0)");
      changes = readChanges();
    }
    const prev = this.publishedSeq();
    const seq = changes.at(-1)!.seq;
    const seats: LiveSeats = {};
    for (const change of changes) {
      if (change.seat_id === "") continue;
      seats[change.section_id] ??= {};
      if (this.ga.has(change.section_id)) continue;
      seats[change.section_id]![change.seat_id] = change.available ? "available" : "unavailable";
    }
    this.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM seat_changes WHERE seq <= ?", seq);
      this.sql.exec("UPDATE live_feed SET published_seq = ?", seq);
    });
    return {
      show_id: showId,
      prev,
      seq,
      as_of_ms: now,
      inventory,
      sections: this.seats
        .sections()
        .filter((section) => section.section_id in seats)
        .map(({ section_id, available }) => ({ section_id, available })),
      seats,
    };
  }

  /**
   * Every section's count, and the seats of `sectionIds`. Its `seq` covers every change made so
   * far, published or not (a later batch overlapping it carries the same absolute states, so
   * applying it is harmless).
   */
  snapshot(showId: string, sectionIds: string[], now: number, inventory: Inventory): LiveSnapshot {
    const logged = this.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM seat_changes").one().seq;
    const seats: LiveSeats = {};
    for (const sectionId of sectionIds) {
      const states: Record<string, "available" | "unavailable"> = {};
      for (const seat of this.seats.seatsOfSection(sectionId)) states[seat.seat_id] = seat.status;
      seats[sectionId] = states;
    }
    return {
      show_id: showId,
      seq: Math.max(logged ?? 0, this.publishedSeq()),
      as_of_ms: now,
      inventory,
      sections: this.seats.sections().map(({ section_id, available }) => ({ section_id, available })),
      seats,
    };
  }

  private publishedSeq(): number {
    return this.sql.exec<{ seq: number }>("SELECT published_seq AS seq FROM live_feed").one().seq;
  }
}
