// Best available in one section, as a pure function over its free seats so it can be tested
// alone: the frontmost row with `quantity` adjacent free seats (the run nearest the row's
// centre); failing that, the free seats of the nearest rows. Linear in the number of free seats.

export type FreeSeat = {
  seat_id: string;
  row_index: number;
  seat_index: number;
};

/** `free` must be ordered by row, then seat. Null when fewer than `quantity` seats are free. */
export function bestAvailable(free: readonly FreeSeat[], quantity: number): string[] | null {
  if (quantity < 1 || free.length < quantity) return null;
  let rowStart = 0;
  while (rowStart < free.length) {
    let rowEnd = rowStart;
    while (rowEnd < free.length && free[rowEnd]!.row_index === free[rowStart]!.row_index) rowEnd++;
    const run = bestRunInRow(free, rowStart, rowEnd, quantity);
    if (run !== null) return free.slice(run, run + quantity).map((seat) => seat.seat_id);
    rowStart = rowEnd;
  }
  return free.slice(0, quantity).map((seat) => seat.seat_id);
}

/** Start index of the adjacent run in free[start, end) nearest the row's centre, or null. */
function bestRunInRow(free: readonly FreeSeat[], start: number, end: number, quantity: number): number | null {
  if (end - start < quantity) return null;
  const centre = (free[start]!.seat_index + free[end - 1]!.seat_index) / 2;
  let best: number | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  // A run is adjacent when its last seat is exactly quantity - 1 places after its first.
  for (let first = start; first + quantity <= end; first++) {
    const last = first + quantity - 1;
    if (free[last]!.seat_index - free[first]!.seat_index !== quantity - 1) continue;
    const distance = Math.abs((free[first]!.seat_index + free[last]!.seat_index) / 2 - centre);
    if (distance < bestDistance) {
      best = first;
      bestDistance = distance;
    }
  }
  return best;
}
