// The show's virtual waiting room, kept in the Show DO's SQLite. Fans get a sequence number
// when they join (a uniformly shuffled one if they joined before the room opened); an
// admission tick moves the *watermark* forward at the organizer's rate, token-bucket style,
// while active checkouts stay under `max_active`. The edge compares a ticket's sequence
// number with the watermark, so most polls never reach this code.

import { newId } from "../src/lib/ids";
import type { QueueSession, RoomConfig, RoomConfigPatch, RoomStats, RoomStatus } from "./types";

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

type ConfigRow = {
  enabled: number;
  paused: number;
  admit_per_minute: number;
  max_active: number;
  checkout_window_ms: number;
  opens_at_ms: number | null;
};

type StateRow = {
  watermark: number;
  next_seq: number;
  tokens: number;
  last_tick_ms: number | null;
  opened: number;
};

type EntryRow = {
  session_id: string;
  fan_id: string;
  seq: number | null;
  status: QueueSession["status"];
  joined_at_ms: number;
  last_seen_ms: number;
  admitted_at_ms: number | null;
  admission_expires_at_ms: number | null;
  next_poll_at_ms: number | null;
};

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
    };
  }

  private state(): StateRow {
    return this.sql.exec<StateRow>("SELECT * FROM room_state WHERE id = 1").one();
  }

  configure(patch: RoomConfigPatch): RoomConfig {
    const current = this.config();
    const next = { ...current, ...patch };
    this.sql.exec(
      `UPDATE room_config SET enabled = ?, paused = ?, admit_per_minute = ?, max_active = ?,
         checkout_window_ms = ?, opens_at_ms = ? WHERE id = 1`,
      next.enabled ? 1 : 0,
      next.paused ? 1 : 0,
      next.admit_per_minute,
      next.max_active,
      next.checkout_window_ms,
      next.opens_at_ms,
    );
    // A room that is (re)opened starts its bucket empty: no burst for the time it was closed.
    if (!current.enabled || current.paused)
      this.sql.exec("UPDATE room_state SET tokens = 0, last_tick_ms = ?", this.clock());
    return this.config();
  }

  /** What the edge caches for about a second. */
  status(): RoomStatus {
    const config = this.config();
    const state = this.state();
    return {
      enabled: config.enabled,
      paused: config.paused,
      admit_per_minute: config.admit_per_minute,
      opens_at_ms: config.opens_at_ms,
      watermark: state.watermark,
      server_time_ms: this.clock(),
    };
  }

  /** Joins the queue, or returns the fan's existing live place: never a second one. */
  join(fanId: string): QueueSession {
    const now = this.clock();
    const live = this.liveEntryOf(fanId, now);
    if (live) return { ...this.view(live, now), created: false };
    const config = this.config();
    if (config.opens_at_ms !== null && now >= config.opens_at_ms && this.state().opened === 0) {
      // The pre-queue is numbered first: a fan who comes after opening never goes ahead of it.
      this.open(now);
    }
    const state = this.state();
    const beforeOpening = config.opens_at_ms !== null && now < config.opens_at_ms && state.opened === 0;
    // Before opening, arrival order must not matter: the place is numbered at the shuffle.
    const seq = beforeOpening ? null : state.next_seq;
    if (seq !== null) this.sql.exec("UPDATE room_state SET next_seq = next_seq + 1 WHERE id = 1");
    const sessionId = newId("wrs");
    this.sql.exec(
      `INSERT INTO room_queue (session_id, fan_id, seq, status, joined_at_ms, last_seen_ms)
       VALUES (?, ?, ?, 'waiting', ?, ?)`,
      sessionId,
      fanId,
      seq,
      now,
      now,
    );
    return { ...this.view(this.entry(sessionId)!, now), created: true };
  }

  /**
   * A poll that reached the DO: the fan is seen (so the place is kept), and the place is
   * reported as it stands. Admission itself was recorded once, when the watermark passed.
   */
  touch(fanId: string, sessionId: string): QueueSession | null {
    const now = this.clock();
    const entry = this.entry(sessionId);
    if (!entry || entry.fan_id !== fanId) return null;
    this.settle(entry, now);
    this.sql.exec(
      `UPDATE room_queue SET next_poll_at_ms = ?,
         last_seen_ms = CASE WHEN status = 'waiting' THEN ? ELSE last_seen_ms END WHERE session_id = ?`,
      now + POLL_FLOOR_MS,
      now,
      sessionId,
    );
    return this.view(this.entry(sessionId)!, now);
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

  /** Places the edge saw polling, flushed in batches: they are kept when their turn comes. */
  seen(sessions: { fan_id: string; session_id: string }[]): number {
    const now = this.clock();
    let kept = 0;
    for (const { fan_id, session_id } of sessions) {
      kept += this.sql.exec(
        "UPDATE room_queue SET last_seen_ms = ? WHERE session_id = ? AND fan_id = ? AND status = 'waiting'",
        now,
        session_id,
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
   * while active checkouts stay under `max_active`.
   */
  tick(now: number): number {
    const config = this.config();
    if (!config.enabled) return 0;
    const state = this.state();
    if (config.opens_at_ms !== null && now < config.opens_at_ms) return 0;
    if (state.opened === 0) this.open(now);
    this.expireAdmissions(now);
    if (config.paused) {
      this.sql.exec("UPDATE room_state SET tokens = 0, last_tick_ms = ? WHERE id = 1", now);
      return 0;
    }
    const perMs = config.admit_per_minute / 60_000;
    const elapsed = state.last_tick_ms === null ? TICK_MS : Math.max(0, now - state.last_tick_ms);
    let tokens = Math.min(state.tokens + elapsed * perMs, perMs * CATCH_UP_MS + 1);
    const active = this.activeCount(now);
    let admitted = 0;
    let watermark = state.watermark;
    if (tokens >= 1 && active < config.max_active) {
      const room = Math.min(Math.floor(tokens), config.max_active - active);
      const candidates = this.sql
        .exec<EntryRow>(
          "SELECT * FROM room_queue WHERE status = 'waiting' AND seq IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
          watermark,
          room + 200,
        )
        .toArray();
      for (const entry of candidates) {
        if (admitted === room) break;
        watermark = entry.seq!;
        if (now - entry.last_seen_ms > ABANDON_AFTER_MS) {
          this.sql.exec("UPDATE room_queue SET status = 'dropped' WHERE session_id = ?", entry.session_id);
          continue;
        }
        this.sql.exec(
          `UPDATE room_queue SET status = 'admitted', admitted_at_ms = ?, admission_expires_at_ms = ?
           WHERE session_id = ?`,
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
      "UPDATE room_state SET tokens = ?, last_tick_ms = ?, watermark = ? WHERE id = 1",
      tokens,
      now,
      watermark,
    );
    return admitted;
  }

  /** When the next tick is due, or null when there is nothing to admit. */
  nextTickAt(now: number): number | null {
    const config = this.config();
    if (!config.enabled) return null;
    const state = this.state();
    if (config.opens_at_ms !== null && state.opened === 0) {
      const prequeued = this.sql.exec("SELECT 1 FROM room_queue WHERE seq IS NULL AND status = 'waiting' LIMIT 1");
      if (prequeued.toArray().length) return Math.max(config.opens_at_ms, now);
    }
    if (config.paused) return null;
    if (!this.hasWaiting(state.watermark) && this.activeCount(now) === 0) return null;
    return now + TICK_MS;
  }

  stats(): RoomStats {
    const now = this.clock();
    const config = this.config();
    const state = this.state();
    const count = (where: string, ...params: number[]) =>
      this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM room_queue WHERE ${where}`, ...params).one().n;
    const oldest = this.sql
      .exec<{ at: number | null }>("SELECT min(joined_at_ms) AS at FROM room_queue WHERE status = 'waiting'")
      .one().at;
    const admittedLastMinute = count("admitted_at_ms > ?", now - 60_000);
    return {
      ...config,
      queued: count("status = 'waiting'"),
      admitted_last_minute: admittedLastMinute,
      active_checkouts: this.activeCount(now),
      observed_admit_per_minute: admittedLastMinute,
      oldest_wait_s: oldest === null ? 0 : Math.round((now - oldest) / 1000),
      watermark: state.watermark,
      server_time_ms: now,
    };
  }

  /** At opening, the pre-queue gets uniformly shuffled sequence numbers (Fisher–Yates). */
  private open(now: number) {
    const prequeue = this.sql
      .exec<{ session_id: string }>("SELECT session_id FROM room_queue WHERE seq IS NULL AND status = 'waiting'")
      .toArray();
    for (let i = prequeue.length - 1; i > 0; i--) {
      const j = randomBelow(i + 1);
      [prequeue[i], prequeue[j]] = [prequeue[j]!, prequeue[i]!];
    }
    let seq = this.state().next_seq;
    for (const { session_id } of prequeue) {
      this.sql.exec("UPDATE room_queue SET seq = ?, last_seen_ms = ? WHERE session_id = ?", seq++, now, session_id);
    }
    this.sql.exec("UPDATE room_state SET next_seq = ?, opened = 1, last_tick_ms = ? WHERE id = 1", seq, now);
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

  private hasWaiting(watermark: number): boolean {
    return (
      this.sql
        .exec("SELECT 1 FROM room_queue WHERE status = 'waiting' AND seq IS NOT NULL AND seq > ? LIMIT 1", watermark)
        .toArray().length > 0
    );
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
    const state = this.state();
    const config = this.config();
    return {
      session_id: entry.session_id,
      fan_id: entry.fan_id,
      seq: entry.seq,
      status: entry.status,
      joined_at_ms: entry.joined_at_ms,
      admission_expires_at_ms: entry.status === "admitted" ? entry.admission_expires_at_ms : null,
      watermark: state.watermark,
      admit_per_minute: config.admit_per_minute,
      opens_at_ms: config.opens_at_ms,
      server_time_ms: now,
    };
  }
}

function randomBelow(n: number): number {
  // Rejection sampling keeps the shuffle uniform (no modulo bias).
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  const buffer = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(buffer);
    if (buffer[0]! < limit) return buffer[0]! % n;
  }
}
