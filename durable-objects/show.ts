import { DurableObject } from "cloudflare:workers";
import { migrateShowSchema } from "./schema";
import { type SeatStatus, seatStatuses } from "./seat-state";

export interface ShowSeatInit {
  seat_id: string;
  section_id: string;
  row: string;
  accessible: boolean;
  tier_id: string;
  price_cents: number;
  blocked: boolean;
}

export interface ShowInit {
  show_id: string;
  on_sale_at_ms: number;
  ticket_limit: number;
  hold_ttl_ms: number;
  currency: string;
  seats: ShowSeatInit[];
}

export type SeatCounts = Record<SeatStatus, number> & { capacity: number };

/**
 * One object per show, found by the show id. It serializes every decision about the show's
 * seats (and, later, its waiting room): each RPC method reads and writes SQLite with no
 * `await` in between, so a transition is atomic and concurrent requests queue behind it.
 */
export class ShowDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private schemaVersion = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.schemaVersion = migrateShowSchema(ctx.storage);
    });
  }

  /** Health probe: proves the object is reachable and its SQLite storage writes. */
  probe(): { schema_version: number; probes: number } {
    const now = Date.now();
    const { count } = this.sql
      .exec<{ count: number }>(
        `INSERT INTO probes (id, count, last_at_ms) VALUES (1, 1, ?)
         ON CONFLICT (id) DO UPDATE SET count = count + 1, last_at_ms = excluded.last_at_ms
         RETURNING count`,
        now,
      )
      .one();
    return { schema_version: this.schemaVersion, probes: count };
  }

  /**
   * Loads the show's seats when it is published. Publishing again is harmless: seats already
   * present keep their state (a held or sold seat is never reset by a re-publish).
   */
  initialize(init: ShowInit): SeatCounts {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO show_config (id, show_id, status, on_sale_at_ms, ticket_limit, hold_ttl_ms, currency, initialized_at_ms)
         VALUES (1, ?, 'published', ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET on_sale_at_ms = excluded.on_sale_at_ms,
           ticket_limit = excluded.ticket_limit, hold_ttl_ms = excluded.hold_ttl_ms`,
        init.show_id,
        init.on_sale_at_ms,
        init.ticket_limit,
        init.hold_ttl_ms,
        init.currency,
        Date.now(),
      );
      for (const seat of init.seats) {
        this.sql.exec(
          `INSERT INTO seats (seat_id, section_id, row_label, accessible, tier_id, price_cents, status, block_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seat_id) DO NOTHING`,
          seat.seat_id,
          seat.section_id,
          seat.row,
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
}
