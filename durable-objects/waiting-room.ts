// The show's virtual waiting room, kept in the Show DO's SQLite. Places are ordered by a
// *queue key* the edge draws when a fan arrives (src/waiting-room/arrivals.ts): the arrival time
// at the edge, with a uniformly random tiebreak; a fan who arrives before the room opens gets
// time 0 and only the random part, so the pre-queue is a uniform shuffle with nothing to
// renumber at opening. The edge reports arrivals in batches; an admission tick moves the
// *watermark* (the key of the last fan whose turn came) forward at the organizer's rate,
// token-bucket style, while active checkouts stay under `max_active`. The edge compares a
// ticket's key with the watermark, so most polls and every join are answered without this code.
//
// Admission follows the inventory: while no seat is available (all sold, blocked, held or in
// checkout) nobody is admitted and the bucket stays empty, so a turn is never handed out for a
// seat that does not exist and there is no burst when seats come back. The inventory travels in
// the room status, so the edge tells the whole line "sold out" without asking this object.

import { newId } from "../src/lib/ids";
import { bucketOf, compareKeys, drawKey, KEY_RANDOM_SPACE, type QueueKey } from "./queue-key";
import { activeCap, holdBack, inventoryOf, type Stock } from "./room-inventory";
import type { QueueArrival, QueueSession, RoomConfig, RoomConfigPatch, RoomStats, RoomStatus } from "./types";

export { inventoryOf, type Stock };

/** How often the admission tick runs while fans are waiting. */
export const TICK_MS = 1_000;
/**
 * Tokens a late tick may catch up on: a few seconds of a busy machine cost no admissions, while
 * an alarm that comes much later (an eviction, an outage) still cannot release a burst.
 */
const CATCH_UP_MS = 5 * TICK_MS;
/** A place whose fan has not been seen for this long is dropped when its turn comes. */
export const ABANDON_AFTER_MS = 5 * 60_000;
/**
 * The fastest one place's polls are answered by this object. The edge hands out slower
 * cadences; this floor is what holds against a client replaying an old ticket.
 */
export const POLL_FLOOR_MS = 1_000;
/**
 * How long an arrival waits before its turn may come: longer than its report takes to arrive
 * (the edge batches for 250 ms, the location's door for a second, plus two RPCs) plus the clock
 * skew between locations we accept, so places are admitted in arrival order even though their
 * batches come from many locations at different moments. Arrivals reported later than this
 * take the head of the line (they are never lost), so the window bounds unfairness, not safety.
 */
export const SETTLE_MS = 2_500;
/** Buckets the room status carries past the watermark; the rest is summed. */
const STATUS_BUCKETS = 600;

type ConfigRow = {
  enabled: number;
  paused: number;
  admit_per_minute: number;
  max_active: number;
  checkout_window_ms: number;
  opens_at_ms: number | null;
  max_active_per_available_seat: number | null;
};

type StateRow = {
  tokens: number;
  last_tick_ms: number | null;
  opened: number;
  admitted_count: number;
  wm_ms: number;
  wm_rnd: number;
};

type EntryRow = {
  session_id: string;
  fan_id: string;
  seq: number | null;
  key_ms: number;
  key_rnd: number;
  status: QueueSession["status"];
  joined_at_ms: number;
  last_seen_ms: number;
  admitted_at_ms: number | null;
  admission_expires_at_ms: number | null;
  next_poll_at_ms: number | null;
};

const keyOf = (entry: Pick<EntryRow, "key_ms" | "key_rnd">): QueueKey => ({ ms: entry.key_ms, rnd: entry.key_rnd });

export class WaitingRoom {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: () => number,
  ) {}

  private get sql() {
    return this.storage.sql;
  }

  config(): RoomConfig {
    const row = this.sql.exec<ConfigRow>("SELECT * FROM room_config WHERE id = 1").one();
    return {
      enabled: row.enabled === 1,
      paused: row.paused === 1,
      admit_per_minute: row.admit_per_minute,
      max_active: row.max_active,
      checkout_window_ms: row.checkout_window_ms,
      opens_at_ms: row.opens_at_ms,
      max_active_per_available_seat: row.max_active_per_available_seat,
    };
  }

  private state(): StateRow {
    return this.sql
      .exec<StateRow>("SELECT tokens, last_tick_ms, opened, admitted_count, wm_ms, wm_rnd FROM room_state WHERE id = 1")
      .one();
  }

  configure(patch: RoomConfigPatch): RoomConfig {
    const current = this.config();
    const next = { ...current, ...patch };
    this.sql.exec(
      `UPDATE room_config SET enabled = ?, paused = ?, admit_per_minute = ?, max_active = ?,
         checkout_window_ms = ?, opens_at_ms = ?, max_active_per_available_seat = ? WHERE id = 1`,
      next.enabled ? 1 : 0,
      next.paused ? 1 : 0,
      next.admit_per_minute,
      next.max_active,
      next.checkout_window_ms,
      next.opens_at_ms,
      next.max_active_per_available_seat,
    );
    // A room that is (re)opened starts its bucket empty: no burst for the time it was closed.
    if (!current.enabled || current.paused)
      this.sql.exec("UPDATE room_state SET tokens = 0, last_tick_ms = ?", this.clock());
    return this.config();
  }

  /** Whether arrivals now still go into the pre-queue (drawn in random order at opening). */
  beforeOpening(now: number): boolean {
    const { opens_at_ms } = this.config();
    return opens_at_ms !== null && now < opens_at_ms && this.state().opened === 0;
  }

  /**
   * What the edge caches for about a second: enough to answer joins and most polls, and to
   * estimate a place's position from the arrivals per second past the watermark.
   */
  status(stock: Stock): RoomStatus {
    const config = this.config();
    const state = this.state();
    const watermark: QueueKey = { ms: state.wm_ms, rnd: state.wm_rnd };
    const from = state.wm_ms < 0 ? 0 : bucketOf(watermark);
    const arrivals = this.sql
      .exec<{ bucket_ms: number; n: number }>(
        "SELECT bucket_ms, n FROM room_arrivals WHERE bucket_ms >= ? ORDER BY bucket_ms LIMIT ?",
        from,
        STATUS_BUCKETS,
      )
      .toArray();
    const lastShown = arrivals.at(-1)?.bucket_ms ?? from;
    const beyond =
      arrivals.length < STATUS_BUCKETS
        ? 0
        : this.sql
            .exec<{ n: number }>("SELECT coalesce(sum(n), 0) AS n FROM room_arrivals WHERE bucket_ms > ?", lastShown)
            .one().n;
    return {
      enabled: config.enabled,
      paused: config.paused,
      admit_per_minute: config.admit_per_minute,
      opens_at_ms: config.opens_at_ms,
      opened: state.opened === 1 || (config.opens_at_ms !== null && this.clock() >= config.opens_at_ms),
      watermark: state.wm_ms < 0 ? null : watermark,
      arrivals,
      arrivals_beyond: beyond,
      inventory: inventoryOf(stock),
      server_time_ms: this.clock(),
    };
  }

  /**
   * Arrivals the edge answered and signed tickets for, reported in a batch. One live place per
   * fan: an arrival of a fan who already has a place (another device, another isolate, a
   * rejoin) is not taken, so joining again never improves a position. An arrival whose turn has
   * already passed (its batch came later than the settle window: an isolate evicted and the
   * ticket presented at the fan's turn) goes to the head of the line, where its key says it
   * belonged. Returns the sessions taken.
   */
  arrive(arrivals: readonly QueueArrival[]): string[] {
    const now = this.clock();
    const state = this.state();
    const watermark: QueueKey | null = state.wm_ms < 0 ? null : { ms: state.wm_ms, rnd: state.wm_rnd };
    const taken: string[] = [];
    const buckets = new Map<number, number>();
    for (const arrival of arrivals) {
      if (this.hasLivePlace(arrival.fan_id, now)) continue;
      let key = arrival.key;
      if (watermark && compareKeys(key, watermark) <= 0) {
        key = { ms: watermark.ms, rnd: Math.min(watermark.rnd + 1, KEY_RANDOM_SPACE - 1) };
      }
      const written = this.sql.exec(
        `INSERT INTO room_queue (session_id, fan_id, key_ms, key_rnd, status, joined_at_ms, last_seen_ms)
         VALUES (?, ?, ?, ?, 'waiting', ?, ?) ON CONFLICT (session_id) DO NOTHING`,
        arrival.session_id,
        arrival.fan_id,
        key.ms,
        key.rnd,
        arrival.arrived_at_ms,
        now,
      ).rowsWritten;
      if (!written) continue;
      const bucket = bucketOf(key);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      taken.push(arrival.session_id);
    }
    for (const [bucket, n] of buckets) {
      this.sql.exec(
        "INSERT INTO room_arrivals (bucket_ms, n) VALUES (?, ?) ON CONFLICT (bucket_ms) DO UPDATE SET n = n + excluded.n",
        bucket,
        n,
      );
    }
    return taken;
  }

  /**
   * A fan joining through the DO itself (tests, tools): the same arrival the edge would make.
   * Returns the fan's live place if it has one.
   */
  join(fanId: string): QueueSession {
    const now = this.clock();
    const live = this.liveEntryOf(fanId, now);
    if (live) return { ...this.view(live, now), created: false };
    const sessionId = newId("wrs");
    this.arrive([
      { session_id: sessionId, fan_id: fanId, key: drawKey(now, this.beforeOpening(now)), arrived_at_ms: now },
    ]);
    return { ...this.view(this.entry(sessionId)!, now), created: true };
  }

  /**
   * A poll that reached the DO: the fan is seen (so the place is kept), and the place is
   * reported as it stands. A ticket whose session this object never took is the fan's live
   * place if it has one (a second device), or — for a fan with no history here at all (its
   * arrival batch was lost) — taken now from the ticket, which the edge signed at arrival.
   */
  touch(fanId: string, sessionId: string, ticketKey: QueueKey | null = null): QueueSession | null {
    const now = this.clock();
    let entry = this.entry(sessionId);
    if (entry && entry.fan_id !== fanId) return null;
    if (!entry) {
      const live = this.liveEntryOf(fanId, now);
      if (live) entry = live;
      else if (ticketKey && !this.hasHistory(fanId)) {
        this.arrive([{ session_id: sessionId, fan_id: fanId, key: ticketKey, arrived_at_ms: now }]);
        entry = this.entry(sessionId);
      }
      if (!entry) return null;
    }
    this.settle(entry, now);
    this.sql.exec(
      `UPDATE room_queue SET next_poll_at_ms = ?,
         last_seen_ms = CASE WHEN status = 'waiting' THEN ? ELSE last_seen_ms END WHERE session_id = ?`,
      now + POLL_FLOOR_MS,
      now,
      entry.session_id,
    );
    return this.view(this.entry(entry.session_id)!, now);
  }

  /** How long until the place's next poll is answered here; 0 when it may be now. */
  retryAfterMs(fanId: string, sessionId: string, now: number): number {
    const entry = this.entry(sessionId);
    if (!entry || entry.fan_id !== fanId || entry.next_poll_at_ms === null) return 0;
    return Math.max(0, entry.next_poll_at_ms - now);
  }

  /** Whether the admission tick is due (a poll runs it only when the alarm is late). */
  tickDue(now: number): boolean {
    const last = this.state().last_tick_ms;
    return last === null || now - last >= TICK_MS;
  }

  /**
   * Fans the edge saw polling, flushed in batches: their place is kept when their turn comes.
   * By fan, not by session: a fan polling from a second device keeps its one live place alive.
   */
  seen(sessions: { fan_id: string; session_id: string }[]): number {
    const now = this.clock();
    let kept = 0;
    for (const { fan_id } of sessions) {
      kept += this.sql.exec(
        "UPDATE room_queue SET last_seen_ms = ? WHERE fan_id = ? AND status = 'waiting'",
        now,
        fan_id,
      ).rowsWritten;
    }
    return kept;
  }

  /** Whether the fan holds a live admission right now (checked again at order time). */
  admissionOf(fanId: string): QueueSession | null {
    const now = this.clock();
    const entry = this.sql
      .exec<EntryRow>(
        "SELECT * FROM room_queue WHERE fan_id = ? AND status = 'admitted' AND admission_expires_at_ms > ?",
        fanId,
        now,
      )
      .toArray()[0];
    return entry ? this.view(entry, now) : null;
  }

  /**
   * The admission tick. Tokens accrue at `admit_per_minute` (capped at a few seconds' worth,
   * so a very late alarm cannot release a burst); each whole token admits the next waiting fan
   * in key order while active checkouts stay under `max_active` (and the optional cap by seats
   * available). A place is eligible once it is older than the settle window, so a batch still
   * on its way cannot be overtaken. With no seat available nobody is admitted and no token
   * accrues: when seats come back, admission resumes at the configured rate, not in a burst.
   */
  tick(now: number, stock: Stock): number {
    const config = this.config();
    if (!config.enabled) return 0;
    const state = this.state();
    if (config.opens_at_ms !== null && now < config.opens_at_ms) return 0;
    if (state.opened === 0) this.sql.exec("UPDATE room_state SET opened = 1, last_tick_ms = ? WHERE id = 1", now);
    this.expireAdmissions(now);
    if (config.paused || stock.available === 0) {
      this.sql.exec("UPDATE room_state SET tokens = 0, last_tick_ms = ? WHERE id = 1", now);
      return 0;
    }
    const perMs = config.admit_per_minute / 60_000;
    const elapsed = state.last_tick_ms === null || state.opened === 0 ? TICK_MS : Math.max(0, now - state.last_tick_ms);
    let tokens = Math.min(state.tokens + elapsed * perMs, perMs * CATCH_UP_MS + 1);
    const active = this.activeCount(now);
    const cap = activeCap(config, stock);
    let admitted = 0;
    let watermark: QueueKey = { ms: state.wm_ms, rnd: state.wm_rnd };
    let admittedCount = state.admitted_count;
    if (tokens >= 1 && active < cap) {
      const room = Math.min(Math.floor(tokens), cap - active);
      const candidates = this.sql
        .exec<EntryRow>(
          `SELECT * FROM room_queue WHERE status = 'waiting' AND (key_ms, key_rnd) > (?, ?) AND key_ms <= ?
           ORDER BY key_ms, key_rnd LIMIT ?`,
          watermark.ms,
          watermark.rnd,
          now - SETTLE_MS,
          room + 200,
        )
        .toArray();
      for (const entry of candidates) {
        if (admitted === room) break;
        watermark = keyOf(entry);
        if (now - entry.last_seen_ms > ABANDON_AFTER_MS) {
          this.sql.exec("UPDATE room_queue SET status = 'dropped' WHERE session_id = ?", entry.session_id);
          continue;
        }
        this.sql.exec(
          `UPDATE room_queue SET status = 'admitted', seq = ?, admitted_at_ms = ?, admission_expires_at_ms = ?
           WHERE session_id = ?`,
          ++admittedCount,
          now,
          now + config.checkout_window_ms,
          entry.session_id,
        );
        admitted++;
      }
      tokens -= admitted;
    }
    if (!this.hasWaiting(watermark)) tokens = 0;
    this.sql.exec(
      "UPDATE room_state SET tokens = ?, last_tick_ms = ?, wm_ms = ?, wm_rnd = ?, admitted_count = ? WHERE id = 1",
      tokens,
      now,
      watermark.ms,
      watermark.rnd,
      admittedCount,
    );
    return admitted;
  }

  /** When the next tick is due, or null when there is nothing to admit. */
  nextTickAt(now: number): number | null {
    const config = this.config();
    if (!config.enabled) return null;
    const state = this.state();
    const waiting = this.hasWaiting({ ms: state.wm_ms, rnd: state.wm_rnd });
    if (config.opens_at_ms !== null && state.opened === 0) {
      return waiting ? Math.max(config.opens_at_ms, now) : null;
    }
    if (config.paused) return null;
    if (!waiting && this.activeCount(now) === 0) return null;
    return now + TICK_MS;
  }

  stats(stock: Stock): RoomStats {
    const now = this.clock();
    const config = this.config();
    const state = this.state();
    const active = this.activeCount(now);
    const waiting = this.hasWaiting({ ms: state.wm_ms, rnd: state.wm_rnd });
    const open = state.opened === 1 || config.opens_at_ms === null || now >= config.opens_at_ms;
    const count = (where: string, ...params: number[]) =>
      this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM room_queue WHERE ${where}`, ...params).one().n;
    const oldest = this.sql
      .exec<{ at: number | null }>("SELECT min(joined_at_ms) AS at FROM room_queue WHERE status = 'waiting'")
      .one().at;
    const admittedLastMinute = count("admitted_at_ms > ?", now - 60_000);
    return {
      ...config,
      inventory: inventoryOf(stock),
      // Only while someone waits for a turn the room could give.
      admission_held_back: config.enabled && open && waiting ? holdBack(config, stock, active) : null,
      queued: count("status = 'waiting'"),
      admitted_last_minute: admittedLastMinute,
      active_checkouts: active,
      observed_admit_per_minute: admittedLastMinute,
      oldest_wait_s: oldest === null ? 0 : Math.round((now - oldest) / 1000),
      watermark: state.admitted_count,
      server_time_ms: now,
    };
  }

  private expireAdmissions(now: number) {
    this.sql.exec(
      "UPDATE room_queue SET status = 'expired' WHERE status = 'admitted' AND admission_expires_at_ms <= ?",
      now,
    );
  }

  /** Lazy version of the tick's bookkeeping for one entry, so a poll never sees stale state. */
  private settle(entry: EntryRow, now: number) {
    if (entry.status === "admitted" && entry.admission_expires_at_ms! <= now) {
      this.sql.exec("UPDATE room_queue SET status = 'expired' WHERE session_id = ?", entry.session_id);
    }
  }

  private activeCount(now: number): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM room_queue WHERE status = 'admitted' AND admission_expires_at_ms > ?",
        now,
      )
      .one().n;
  }

  private hasWaiting(watermark: QueueKey): boolean {
    return (
      this.sql
        .exec(
          "SELECT 1 FROM room_queue WHERE status = 'waiting' AND (key_ms, key_rnd) > (?, ?) LIMIT 1",
          watermark.ms,
          watermark.rnd,
        )
        .toArray().length > 0
    );
  }

  /**
   * Whether the fan holds a live place (waiting and seen lately, or admitted and in time): one
   * indexed read per arrival. A waiting place abandoned for five minutes is dropped here, so
   * the new one is the fan's only place (heartbeats go by fan and must not revive the old one).
   */
  private hasLivePlace(fanId: string, now: number): boolean {
    let live = false;
    for (const place of this.sql
      .exec<Pick<EntryRow, "session_id" | "status" | "last_seen_ms" | "admission_expires_at_ms">>(
        `SELECT session_id, status, last_seen_ms, admission_expires_at_ms FROM room_queue
       WHERE fan_id = ? AND status IN ('waiting', 'admitted')`,
        fanId,
      )
      .toArray()) {
      if (
        place.status === "admitted"
          ? place.admission_expires_at_ms! > now
          : now - place.last_seen_ms <= ABANDON_AFTER_MS
      ) {
        live = true;
      } else if (place.status === "waiting") {
        this.sql.exec("UPDATE room_queue SET status = 'dropped' WHERE session_id = ?", place.session_id);
      }
    }
    return live;
  }

  /** Whether this room ever took a place for the fan (admitted, expired or dropped ones too). */
  private hasHistory(fanId: string): boolean {
    return this.sql.exec("SELECT 1 FROM room_queue WHERE fan_id = ? LIMIT 1", fanId).toArray().length > 0;
  }

  private liveEntryOf(fanId: string, now: number): EntryRow | undefined {
    const entry = this.sql
      .exec<EntryRow>(
        "SELECT * FROM room_queue WHERE fan_id = ? AND status IN ('waiting', 'admitted') ORDER BY joined_at_ms DESC LIMIT 1",
        fanId,
      )
      .toArray()[0];
    if (!entry) return undefined;
    this.settle(entry, now);
    if (entry.status === "waiting" && now - entry.last_seen_ms > ABANDON_AFTER_MS) {
      this.sql.exec("UPDATE room_queue SET status = 'dropped' WHERE session_id = ?", entry.session_id);
      return undefined;
    }
    const fresh = this.entry(entry.session_id)!;
    return fresh.status === "waiting" || fresh.status === "admitted" ? fresh : undefined;
  }

  private entry(sessionId: string): EntryRow | undefined {
    return this.sql.exec<EntryRow>("SELECT * FROM room_queue WHERE session_id = ?", sessionId).toArray()[0];
  }

  private view(entry: EntryRow, now: number): QueueSession {
    return {
      session_id: entry.session_id,
      fan_id: entry.fan_id,
      key: keyOf(entry),
      status: entry.status,
      joined_at_ms: entry.joined_at_ms,
      admission_expires_at_ms: entry.status === "admitted" ? entry.admission_expires_at_ms : null,
      server_time_ms: now,
    };
  }
}
