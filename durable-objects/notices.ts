// The Show DO's own outbox. A notice (a waitlist offer to tell a fan about) is written in the
// same synchronous step as the decision that causes it, then handed to the notifications
// Queue afterwards; the consumer turns it into a Postgres outbox row, deduplicated by key.
// Nothing in a transition or in the alarm waits for that hand-off.

export interface DoNotice {
  notice_key: string;
  topic: "waitlist.offer";
  payload: Record<string, unknown>;
}

type NoticeRow = { notice_key: string; topic: DoNotice["topic"]; payload: string };

/** A Queue send not answered in this long is treated as lost and tried again (the consumer dedupes). */
const SEND_TIMEOUT_MS = 30_000;

export class Notices {
  /** When the send in flight started; a send that never answers is given up after a while. */
  #sendingSince: number | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly clock: () => number,
  ) {}

  add(topic: DoNotice["topic"], key: string, payload: Record<string, unknown>) {
    this.sql.exec(
      "INSERT INTO notices (notice_key, topic, payload, created_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      `${topic}:${key}`,
      topic,
      JSON.stringify(payload),
      this.clock(),
    );
  }

  unsent(limit = 100): DoNotice[] {
    return this.sql
      .exec<NoticeRow>(
        "SELECT notice_key, topic, payload FROM notices WHERE sent_at_ms IS NULL ORDER BY created_at_ms LIMIT ?",
        limit,
      )
      .toArray()
      .map((row) => ({ notice_key: row.notice_key, topic: row.topic, payload: JSON.parse(row.payload) }));
  }

  /**
   * Hands unsent notices to the Queue; null when there is nothing to send or a send is still in
   * flight. The caller does not wait for it: what fails stays unsent and is sent again later.
   */
  send(queue: Pick<Queue, "sendBatch">): Promise<void> | null {
    const now = this.clock();
    if (this.#sendingSince !== null && now - this.#sendingSince < SEND_TIMEOUT_MS) return null;
    const pending = this.unsent();
    if (pending.length === 0) return null;
    this.#sendingSince = now;
    return queue
      .sendBatch(pending.map((notice) => ({ body: notice })))
      .then(() => this.markSent(pending.map((notice) => notice.notice_key)))
      .catch((error: unknown) =>
        console.warn("notices not sent yet; the alarm retries", error instanceof Error ? error.message : error),
      )
      .finally(() => {
        if (this.#sendingSince === now) this.#sendingSince = null;
      });
  }

  hasUnsent(): boolean {
    return this.sql.exec("SELECT 1 FROM notices WHERE sent_at_ms IS NULL LIMIT 1").toArray().length > 0;
  }

  markSent(keys: readonly string[]) {
    const now = this.clock();
    for (const key of keys) this.sql.exec("UPDATE notices SET sent_at_ms = ? WHERE notice_key = ?", now, key);
  }
}
