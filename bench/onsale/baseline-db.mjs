// The classic design's tables for the side-by-side, created by the benchmark in the same
// embedded Postgres as Onsale's own (never through migrations/: they are not Onsale's schema):
// one row per seat per show, and the holds.
import pg from "pg";

export async function createBaselineTables(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      CREATE TABLE IF NOT EXISTS bench_seats (
        show_id text NOT NULL,
        seat_id text NOT NULL,
        section_id text NOT NULL,
        row_index integer NOT NULL,
        seat_index integer NOT NULL,
        price_cents integer NOT NULL,
        status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'held', 'sold', 'blocked')),
        hold_id text,
        held_until timestamptz,
        PRIMARY KEY (show_id, seat_id)
      );
      CREATE INDEX IF NOT EXISTS bench_seats_by_section ON bench_seats (show_id, section_id, status);
      CREATE TABLE IF NOT EXISTS bench_holds (
        hold_id text PRIMARY KEY,
        show_id text NOT NULL,
        fan_id text NOT NULL,
        seat_ids text[] NOT NULL,
        price_cents integer NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );`);
  } finally {
    await client.end();
  }
}

/** Loads one show's seats (every seat available), as publishing does for the Show DO. */
export async function loadBaselineShow(url, showId, stadium) {
  const ids = [];
  const sections = [];
  const rows = [];
  const numbers = [];
  const prices = [];
  for (const section of stadium.sections) {
    const price = stadium.tierOf[section.id]?.price_cents ?? 0;
    section.seats.forEach((row, r) => {
      row.forEach((seatId, n) => {
        ids.push(seatId);
        sections.push(section.id);
        rows.push(r);
        numbers.push(n);
        prices.push(price);
      });
    });
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("DELETE FROM bench_seats WHERE show_id = $1", [showId]);
    await client.query(
      `INSERT INTO bench_seats (show_id, seat_id, section_id, row_index, seat_index, price_cents)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[])`,
      [showId, ids, sections, rows, numbers, prices],
    );
    await client.query("ANALYZE bench_seats");
  } finally {
    await client.end();
  }
  return ids.length;
}

/** Zero double holds in the classic design too: every held seat names one live hold. */
export async function verifyBaselineShow(url, showId, heldSeats) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*) FILTER (WHERE status = 'held')::int AS held,
              count(DISTINCT hold_id)::int AS holds
         FROM bench_seats WHERE show_id = $1`,
      [showId],
    );
    const { rows: holdRows } = await client.query(
      "SELECT coalesce(sum(cardinality(seat_ids)), 0)::int AS seats, count(*)::int AS holds FROM bench_holds WHERE show_id = $1",
      [showId],
    );
    const seen = new Set();
    let twice = 0;
    for (const seat of heldSeats) {
      if (seen.has(seat)) twice++;
      seen.add(seat);
    }
    return {
      show_id: showId,
      seats_held_in_db: rows[0].held,
      seats_in_hold_rows: holdRows[0].seats,
      holds_in_db: holdRows[0].holds,
      seats_confirmed_to_clients: heldSeats.length,
      seats_confirmed_twice: twice,
      ok: twice === 0 && rows[0].held === holdRows[0].seats && rows[0].held >= heldSeats.length,
    };
  } finally {
    await client.end();
  }
}
