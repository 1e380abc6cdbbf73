// What the waiting room makes of the show's inventory: the word the line is told (available,
// all held, sold out) and whether a tick may admit anyone now. Pure rules, kept apart from the
// queue's bookkeeping in waiting-room.ts.

import type { AdmissionHeldBack, Inventory, RoomConfig, SeatCounts } from "./types";

/** The seat tallies the queue needs: what can be taken now, and what may come back. */
export type Stock = Pick<SeatCounts, "available" | "held">;

export function inventoryOf(stock: Stock): Inventory {
  if (stock.available > 0) return "available";
  return stock.held > 0 ? "all_held" : "sold_out";
}

/** Active checkouts the room allows: `max_active`, and (if set) a share of the seats available. */
export function activeCap(config: RoomConfig, stock: Stock): number {
  const ratio = config.max_active_per_available_seat;
  return ratio === null ? config.max_active : Math.min(config.max_active, Math.ceil(stock.available * ratio));
}

/** Why the tick admits nobody now, whatever its tokens; null when nothing holds it back. */
export function holdBack(config: RoomConfig, stock: Stock, active: number): AdmissionHeldBack | null {
  if (config.paused) return "paused_by_organizer";
  if (stock.available === 0) return "nothing_available";
  if (active >= activeCap(config, stock)) return "max_active";
  return null;
}
