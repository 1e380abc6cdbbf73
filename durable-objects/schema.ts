// The Show DO's SQLite schema as numbered, append-only migrations. Each runs once, inside one
// transaction with the bookkeeping row, when the object first starts after a deploy.

export interface ShowMigration {
  id: number;
  description: string;
  sql: string;
}

export const showMigrations: readonly ShowMigration[] = [
  {
    id: 1,
    description: "show config, seats, holds",
    sql: `
      CREATE TABLE show_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        show_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('published', 'cancelled')),
        on_sale_at_ms INTEGER NOT NULL,
        ticket_limit INTEGER NOT NULL CHECK (ticket_limit BETWEEN 1 AND 50),
        hold_ttl_ms INTEGER NOT NULL CHECK (hold_ttl_ms > 0),
        currency TEXT NOT NULL,
        venue_id TEXT NOT NULL,
        seat_map_version INTEGER NOT NULL,
        initialized_at_ms INTEGER NOT NULL
      );
      CREATE TABLE seats (
        seat_id TEXT PRIMARY KEY,
        section_id TEXT NOT NULL,
        row_label TEXT NOT NULL,
        -- Front-to-back order of the row in its section, and left-to-right order in its row:
        -- "adjacent" and "nearest row" for best-available are defined by these.
        row_index INTEGER NOT NULL,
        seat_index INTEGER NOT NULL,
        accessible INTEGER NOT NULL DEFAULT 0,
        tier_id TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        status TEXT NOT NULL CHECK (status IN ('available', 'held', 'sold', 'blocked')),
        hold_id TEXT,
        block_reason TEXT,
        CHECK (status IN ('held', 'sold') OR hold_id IS NULL),
        CHECK (status <> 'held' OR hold_id IS NOT NULL)
      ) WITHOUT ROWID;
      CREATE INDEX seats_by_section ON seats (section_id, status, row_index, seat_index);
      CREATE TABLE holds (
        hold_id TEXT PRIMARY KEY,
        fan_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'checkout', 'sold', 'released', 'expired', 'refunded')),
        seat_ids TEXT NOT NULL,
        -- Set when an order is placed for the hold; every later step is keyed by it.
        order_id TEXT UNIQUE,
        price_cents INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        idempotency_key TEXT,
        request_hash TEXT,
        version INTEGER NOT NULL DEFAULT 1
      );
      CREATE UNIQUE INDEX holds_by_idempotency_key ON holds (fan_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX holds_by_expiry ON holds (expires_at_ms) WHERE status IN ('active', 'checkout');
      CREATE INDEX holds_by_fan ON holds (fan_id, status);
      CREATE TABLE probes (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        count INTEGER NOT NULL,
        last_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    id: 2,
    description: "waiting room: config, state, queue",
    sql: `
      CREATE TABLE room_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        enabled INTEGER NOT NULL DEFAULT 0,
        paused INTEGER NOT NULL DEFAULT 0,
        admit_per_minute INTEGER NOT NULL DEFAULT 600 CHECK (admit_per_minute >= 1),
        max_active INTEGER NOT NULL DEFAULT 1000 CHECK (max_active >= 1),
        checkout_window_ms INTEGER NOT NULL DEFAULT 600000 CHECK (checkout_window_ms > 0),
        opens_at_ms INTEGER
      );
      INSERT INTO room_config (id) VALUES (1);
      CREATE TABLE room_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        watermark INTEGER NOT NULL DEFAULT 0,
        next_seq INTEGER NOT NULL DEFAULT 1,
        tokens REAL NOT NULL DEFAULT 0,
        last_tick_ms INTEGER,
        opened INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO room_state (id) VALUES (1);
      CREATE TABLE room_queue (
        session_id TEXT PRIMARY KEY,
        fan_id TEXT NOT NULL,
        seq INTEGER UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('waiting', 'admitted', 'expired', 'dropped')),
        joined_at_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        admitted_at_ms INTEGER,
        admission_expires_at_ms INTEGER,
        CHECK (status <> 'admitted' OR (seq IS NOT NULL AND admission_expires_at_ms IS NOT NULL))
      );
      CREATE INDEX room_queue_by_fan ON room_queue (fan_id, status);
      CREATE INDEX room_queue_waiting ON room_queue (status, seq);
      CREATE INDEX room_queue_admitted ON room_queue (admitted_at_ms);
    `,
  },
  {
    id: 3,
    description: "waitlist",
    sql: `
      CREATE TABLE waitlist (
        entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
        fan_id TEXT NOT NULL,
        email TEXT,
        quantity INTEGER NOT NULL CHECK (quantity >= 1),
        section_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'lapsed', 'fulfilled', 'left')),
        joined_at_ms INTEGER NOT NULL,
        offer_hold_id TEXT,
        notified INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX waitlist_by_status ON waitlist (status, entry_id);
      CREATE INDEX waitlist_by_fan ON waitlist (fan_id, status);
      CREATE INDEX waitlist_by_offer ON waitlist (offer_hold_id);
    `,
  },
  {
    id: 4,
    description: "seat tallies kept by triggers, sold time, poll floor, notices outbox",
    sql: `
      -- Seats by (section, price, status), kept exact by triggers on every status change, so the
      -- public overlay and every count are O(sections x tiers) instead of a scan of all seats.
      CREATE TABLE seat_tallies (
        section_id TEXT NOT NULL,
        price_cents INTEGER NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL CHECK (n >= 0),
        PRIMARY KEY (section_id, price_cents, status)
      ) WITHOUT ROWID;
      INSERT INTO seat_tallies (section_id, price_cents, status, n)
        SELECT section_id, price_cents, status, count(*) FROM seats GROUP BY section_id, price_cents, status;
      CREATE TRIGGER seats_tally_insert AFTER INSERT ON seats BEGIN
        INSERT OR IGNORE INTO seat_tallies (section_id, price_cents, status, n)
          VALUES (new.section_id, new.price_cents, new.status, 0);
        UPDATE seat_tallies SET n = n + 1
          WHERE section_id = new.section_id AND price_cents = new.price_cents AND status = new.status;
      END;
      CREATE TRIGGER seats_tally_update AFTER UPDATE OF status ON seats WHEN old.status <> new.status BEGIN
        UPDATE seat_tallies SET n = n - 1
          WHERE section_id = old.section_id AND price_cents = old.price_cents AND status = old.status;
        INSERT OR IGNORE INTO seat_tallies (section_id, price_cents, status, n)
          VALUES (new.section_id, new.price_cents, new.status, 0);
        UPDATE seat_tallies SET n = n + 1
          WHERE section_id = new.section_id AND price_cents = new.price_cents AND status = new.status;
      END;
      -- When a hold's seats were sold: reconciliation leaves a fresh sale alone while its
      -- Postgres confirm may still be in flight.
      ALTER TABLE holds ADD COLUMN sold_at_ms INTEGER;
      -- The earliest a place's next poll is answered by this object (a replayed old ticket
      -- cannot make the DO answer faster than this).
      ALTER TABLE room_queue ADD COLUMN next_poll_at_ms INTEGER;
      -- The DO's own outbox: notices written in the same step as the decision, sent to the
      -- notifications Queue afterwards, never awaited by a transition or the alarm.
      CREATE TABLE notices (
        notice_key TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        sent_at_ms INTEGER
      );
      CREATE INDEX notices_unsent ON notices (created_at_ms) WHERE sent_at_ms IS NULL;
      -- Serving the waitlist reads only the entries small enough for the seats that came back.
      CREATE INDEX waitlist_waiting_by_quantity ON waitlist (status, quantity, entry_id);
      INSERT INTO notices (notice_key, topic, payload, created_at_ms)
        SELECT 'waitlist.offer:' || h.hold_id, 'waitlist.offer',
          json_object('fan_id', w.fan_id, 'email', w.email, 'show_id', (SELECT show_id FROM show_config),
            'hold_id', h.hold_id, 'seat_ids', json(h.seat_ids), 'expires_at_ms', h.expires_at_ms),
          w.joined_at_ms
        FROM waitlist w JOIN holds h ON h.hold_id = w.offer_hold_id
        WHERE w.status = 'offered' AND w.notified = 0;
    `,
  },
  {
    id: 5,
    description: "waiting room ordered by edge-drawn queue keys; arrivals per second",
    sql: `
      -- Places are ordered by the key the edge draws at arrival: [time, random]; time 0 is the
      -- pre-queue. Existing places keep their order: numbered ones by join time, the pre-queue
      -- by a random draw. seq becomes the admission number.
      ALTER TABLE room_queue ADD COLUMN key_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE room_queue ADD COLUMN key_rnd INTEGER NOT NULL DEFAULT 0;
      UPDATE room_queue SET key_ms = CASE WHEN seq IS NULL THEN 0 ELSE joined_at_ms END,
        key_rnd = CASE WHEN seq IS NULL THEN abs(random()) % 281474976710656 ELSE seq END;
      UPDATE room_queue SET seq = NULL WHERE status = 'waiting';
      CREATE INDEX room_queue_by_key ON room_queue (status, key_ms, key_rnd);
      ALTER TABLE room_state ADD COLUMN wm_ms INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE room_state ADD COLUMN wm_rnd INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE room_state ADD COLUMN admitted_count INTEGER NOT NULL DEFAULT 0;
      UPDATE room_state SET admitted_count = coalesce((SELECT max(seq) FROM room_queue), 0);
      UPDATE room_state SET
        wm_ms = coalesce((SELECT key_ms FROM room_queue WHERE seq = room_state.watermark), -1),
        wm_rnd = coalesce((SELECT key_rnd FROM room_queue WHERE seq = room_state.watermark), 0)
        WHERE watermark > 0;
      CREATE TABLE room_arrivals (bucket_ms INTEGER PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO room_arrivals (bucket_ms, n)
        SELECT CASE WHEN key_ms = 0 THEN 0 ELSE key_ms - key_ms % 1000 END AS bucket, count(*)
        FROM room_queue GROUP BY bucket;
    `,
  },
  {
    id: 6,
    description: "waiting room: optional cap of active checkouts relative to the seats available",
    sql: `
      ALTER TABLE room_config ADD COLUMN max_active_per_available_seat REAL
        CHECK (max_active_per_available_seat IS NULL OR max_active_per_available_seat > 0);
    `,
  },
  {
    id: 7,
    description: "live seat map: log of public seat changes, published sequence",
    sql: `
      -- Every change of a seat's public state (available vs not), in order; the Show DO
      -- publishes and deletes it in batches to the show's feed objects. A trigger, like the
      -- tallies: no code path that moves a seat can forget to log it.
      CREATE TABLE seat_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        seat_id TEXT NOT NULL,
        section_id TEXT NOT NULL,
        available INTEGER NOT NULL
      );
      CREATE TRIGGER seats_change_log AFTER UPDATE OF status ON seats
        WHEN (old.status = 'available') <> (new.status = 'available') BEGIN
        INSERT INTO seat_changes (seat_id, section_id, available)
          VALUES (new.seat_id, new.section_id, new.status = 'available');
      END;
      CREATE TABLE live_feed (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        published_seq INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO live_feed (id) VALUES (1);
    `,
  },
  {
    id: 8,
    description: "general admission: GA sections (their places are rows of seats)",
    sql: `
      -- A GA section's capacity is its places: rows of seats with the id '<section>#<n>'. This
      -- table says which sections are GA, so a quantity there takes any free places.
      CREATE TABLE ga_sections (
        section_id TEXT PRIMARY KEY,
        capacity INTEGER NOT NULL CHECK (capacity >= 1)
      ) WITHOUT ROWID;
    `,
  },
];

/** Applies pending migrations; returns the schema version now in force. */
export function migrateShowSchema(storage: DurableObjectStorage): number {
  const sql = storage.sql;
  sql.exec(`CREATE TABLE IF NOT EXISTS _migrations (
    id INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const applied = sql.exec<{ id: number }>("SELECT coalesce(max(id), 0) AS id FROM _migrations").one().id;
  for (const migration of showMigrations) {
    if (migration.id <= applied) continue;
    storage.transactionSync(() => {
      sql.exec(migration.sql);
      sql.exec(
        "INSERT INTO _migrations (id, description, applied_at_ms) VALUES (?, ?, ?)",
        migration.id,
        migration.description,
        Date.now(),
      );
    });
  }
  return showMigrations.at(-1)?.id ?? 0;
}
