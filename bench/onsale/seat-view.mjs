// What the simulated fans believe about the seats: a shared, slightly stale picture of the
// stadium, as a fan's seat map is (the overlay is cacheable for a second, and a fan looks at
// it before choosing). It is fed by real overlay responses (GET /v1/shows/{id}/seat-map) and
// by what fans learn from their own holds (a 201 takes the seats, a 409 names the seats lost).
// Choices favour the front sections and the front rows, so many fans want the same seats:
// that is the contention the benchmark is about.

export class SeatView {
  /** `sections`: [{ id, seats: [[seatId, …] per row, front row first] }]; `popularity`: weight per section. */
  constructor(sections, popularity) {
    this.sections = sections.map((s, i) => {
      const rows = s.seats.length;
      const perRow = Math.max(...s.seats.map((r) => r.length));
      return { id: s.id, index: i, rows, perRow, seats: s.seats, taken: new Uint8Array(rows * perRow), free: 0 };
    });
    this.byId = new Map(this.sections.map((s) => [s.id, s]));
    this.where = new Map();
    for (const s of this.sections) {
      s.seats.forEach((row, r) => {
        row.forEach((seatId, n) => {
          this.where.set(seatId, [s, r * s.perRow + n]);
        });
      });
      for (let r = 0; r < s.rows; r++) for (let n = s.seats[r].length; n < s.perRow; n++) s.taken[r * s.perRow + n] = 1;
      s.free = s.seats.reduce((n, row) => n + row.length, 0);
      /** The server's count of available seats in the section (from any overlay answer). */
      s.available = s.free;
      s.refreshedAt = 0;
    }
    this.popularity = popularity;
  }

  get totalFree() {
    return this.sections.reduce((n, s) => n + s.free, 0);
  }

  get totalAvailable() {
    return this.sections.reduce((n, s) => n + s.available, 0);
  }

  markTaken(seatIds) {
    for (const id of seatIds) {
      const at = this.where.get(id);
      if (!at) continue;
      const [s, off] = at;
      if (!s.taken[off]) {
        s.taken[off] = 1;
        s.free--;
      }
    }
  }

  /** An overlay answer: the per-section counts, and the per-seat states of one section if asked. */
  applyOverlay(body, now) {
    for (const summary of body?.sections ?? []) {
      const s = this.byId.get(summary.section_id);
      if (s) s.available = summary.available;
    }
    if (!Array.isArray(body?.seats) || !body.seats.length) return;
    const first = this.where.get(body.seats[0].seat_id);
    if (!first) return;
    const s = first[0];
    let free = 0;
    for (const seat of body.seats) {
      const at = this.where.get(seat.seat_id);
      if (!at) continue;
      const isFree = seat.status === "available";
      at[0].taken[at[1]] = isFree ? 0 : 1;
      if (isFree) free++;
    }
    s.free = free;
    s.refreshedAt = now;
  }

  /** Which section's seats to reload next: popular, stale, and not known to be empty. */
  nextToRefresh(now) {
    let best = null;
    let bestScore = -1;
    for (const s of this.sections) {
      const age = (now - s.refreshedAt) / 1000 + 1;
      const drift = 1 + Math.abs(s.available - s.free) / 10;
      const score = this.popularity[s.index] * age * drift * (s.available > 0 ? 1 : 0.02);
      if (score > bestScore) {
        bestScore = score;
        best = s;
      }
    }
    return best;
  }

  /** A section for `quantity` seats, by popularity among those with room (per-seat or by count). */
  chooseSection(random, quantity, { byCount = false } = {}) {
    let total = 0;
    const weights = this.sections.map((s) => {
      const room = byCount ? s.available : s.free;
      const w = room >= quantity ? this.popularity[s.index] : 0;
      total += w;
      return w;
    });
    if (total === 0) return null;
    let x = random() * total;
    for (const [i, w] of weights.entries()) {
      x -= w;
      if (x < 0) return this.sections[i];
    }
    return this.sections.at(-1);
  }

  /**
   * `quantity` adjacent free seats in the section as the fan sees it: one of the first three
   * rows that have such a run (front rows most likely), the run nearest the middle of the row
   * (or the next best). Null when no row has a run.
   */
  pickAdjacent(random, section, quantity) {
    const s = section;
    const candidates = [];
    for (let r = 0; r < s.rows && candidates.length < 3; r++) {
      const runs = [];
      let runStart = -1;
      for (let n = 0; n <= s.perRow; n++) {
        const free = n < s.perRow && !s.taken[r * s.perRow + n];
        if (free && runStart < 0) runStart = n;
        if (!free && runStart >= 0) {
          for (let start = runStart; start + quantity <= n; start++) runs.push(start);
          runStart = -1;
        }
      }
      if (!runs.length) continue;
      const middle = (s.perRow - quantity) / 2;
      runs.sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
      candidates.push({ r, runs: runs.slice(0, 2) });
    }
    if (!candidates.length) return null;
    const x = random();
    const row = candidates[x < 0.5 || candidates.length === 1 ? 0 : x < 0.8 || candidates.length === 2 ? 1 : 2];
    const start = row.runs[random() < 0.7 || row.runs.length === 1 ? 0 : 1];
    return s.seats[row.r].slice(start, start + quantity);
  }
}

/** Front sections are wanted most: a Zipf-like weight by position. */
export function sectionPopularity(count) {
  return Array.from({ length: count }, (_, i) => 1 / (1 + i / 4) ** 1.5);
}
