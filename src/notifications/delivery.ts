import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { gaOfPlaces } from "../../durable-objects/ga";
import type { DoNotice } from "../../durable-objects/notices";
import type { Database } from "../db/client";
import { outbox } from "../db/schema";
import { QUEUE_TIMEOUT_MS, withDeadline } from "../lib/deadline";
import { logEvent } from "../lib/observe";
import { placeLabel } from "../tickets/place";
import { type EmailMessage, emailProvider } from "./email";
import { enqueueNotification } from "./outbox";

// Outbox → Cloudflare Queue → email. At least once all the way; each notification is mailed
// once because the consumer claims its outbox row before sending and records the send.

export interface NotificationMessage {
  outbox_id: number;
  topic: string;
  payload: Record<string, unknown>;
}

/** What travels on the notifications Queue: outbox rows, and notices written by a Show DO. */
export type QueueMessage = NotificationMessage | DoNotice;

const isDoNotice = (body: QueueMessage): body is DoNotice => typeof (body as DoNotice).notice_key === "string";

const CLAIM_MS = 60_000;
export const MAX_RETRIES = 5;

/** Moves unpublished outbox rows onto the queue. A crash between send and mark resends: fine. */
export async function publishOutbox(env: Pick<Env, "NOTIFICATIONS">, db: Database, limit = 100): Promise<number> {
  const rows = await db
    .select()
    .from(outbox)
    .where(and(isNull(outbox.publishedAt), eq(outbox.deadLettered, false)))
    .orderBy(asc(outbox.id))
    .limit(limit);
  if (rows.length === 0) return 0;
  await withDeadline("queue", QUEUE_TIMEOUT_MS, () =>
    env.NOTIFICATIONS.sendBatch(
      rows.map((row) => ({
        body: { outbox_id: row.id, topic: row.topic, payload: row.payload } as NotificationMessage,
      })),
    ),
  );
  await db
    .update(outbox)
    .set({ publishedAt: sql`now()` })
    .where(
      inArray(
        outbox.id,
        rows.map((r) => r.id),
      ),
    );
  return rows.length;
}

const money = (cents: unknown, currency: unknown) =>
  typeof cents === "number" && typeof currency === "string"
    ? new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100)
    : "";

/** The email a notification becomes. */
export function renderNotification(message: NotificationMessage): Omit<EmailMessage, "to" | "id"> {
  const p = message.payload;
  switch (message.topic) {
    case "order.confirmed": {
      const tickets = (p.tickets as { ticket_id: string; seat_id: string | null; place_id?: string }[]) ?? [];
      return {
        subject: `Your tickets are confirmed (order ${p.order_id})`,
        text: [
          `Your order ${p.order_id} is confirmed. Your tickets:`,
          ...tickets.map((t) => `  ${placeLabel(t.place_id ?? t.seat_id!)}: /v1/tickets/${t.ticket_id}/pdf`),
          "",
          "Show the QR code on each ticket at the gate.",
        ].join("\n"),
      };
    }
    case "order.payment_failed":
      return {
        subject: "Your payment did not go through",
        text: `The payment for order ${p.order_id} failed (${p.reason}). Your seats were released; you can try again.`,
      };
    case "order.refunded":
      return {
        subject: `Refund issued for order ${p.order_id}`,
        text: `We refunded ${money(p.amount_cents, p.currency)} for order ${p.order_id}.${
          p.reason === "seat_conflict" ? " Your seats were no longer available when your payment arrived." : ""
        }`,
      };
    case "waitlist.offer": {
      const ga = gaOfPlaces(p.seat_ids as string[]);
      const held = ga
        ? `${ga.quantity} general-admission tickets in section ${ga.section_id} are`
        : `Seats ${(p.seat_ids as string[]).join(", ")} are`;
      return {
        subject: ga ? "Tickets are available for you" : "Seats are available for you",
        text: `${held} held for you until ${new Date(
          p.expires_at_ms as number,
        ).toISOString()}. Order them with hold ${p.hold_id}.`,
      };
    }
    case "hold.expired":
      return {
        subject: "Your seats were released",
        text: `Your hold ${p.hold_id} expired and the seats were released.`,
      };
    default:
      return { subject: `Onsale: ${message.topic}`, text: JSON.stringify(p) };
  }
}

export type DeliveryOutcome = "sent" | "duplicate" | "busy" | "no_address";

/**
 * Delivers one notification. Claims the outbox row first: if it was already sent, this is a
 * duplicate delivery and nothing is mailed; if another consumer holds it, this one waits.
 */
export async function deliverNotification(
  env: Env,
  db: Database,
  message: NotificationMessage,
): Promise<DeliveryOutcome> {
  const [claimed] = await db
    .update(outbox)
    .set({ sendingUntil: new Date(Date.now() + CLAIM_MS), attempts: sql`${outbox.attempts} + 1` })
    .where(
      and(
        eq(outbox.id, message.outbox_id),
        isNull(outbox.sentAt),
        or(isNull(outbox.sendingUntil), lt(outbox.sendingUntil, new Date())),
      ),
    )
    .returning();
  if (!claimed) {
    const [row] = await db.select({ sentAt: outbox.sentAt }).from(outbox).where(eq(outbox.id, message.outbox_id));
    return !row || row.sentAt ? "duplicate" : "busy";
  }
  const to =
    (message.payload.email as string | null) ??
    (env.ENVIRONMENT === "production" ? null : `${message.payload.fan_id}@fans.onsale.test`);
  try {
    if (to) await emailProvider(env).send({ id: `outbox-${message.outbox_id}`, to, ...renderNotification(message) });
  } catch (error) {
    await db
      .update(outbox)
      .set({ sendingUntil: null, lastError: error instanceof Error ? error.message : String(error) })
      .where(eq(outbox.id, message.outbox_id));
    throw error;
  }
  await db
    .update(outbox)
    .set({ sentAt: sql`now()`, sendingUntil: null, lastError: to ? null : "no email address for this fan" })
    .where(eq(outbox.id, message.outbox_id));
  return to ? "sent" : "no_address";
}

/** Exponential backoff: 5 s, 10 s, 20 s … capped at ten minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(600, 5 * 2 ** (Math.max(1, attempts) - 1));

/**
 * A Show DO's notice becomes one outbox row, however often the Queue delivers it (the DO
 * resends what it could not confirm): the transaction-scoped advisory lock on the notice key
 * makes check-then-insert safe against a concurrent duplicate delivery.
 */
export async function recordDoNotice(db: Database, notice: DoNotice): Promise<boolean> {
  const aggregateId = notice.notice_key.slice(notice.topic.length + 1);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${notice.notice_key}))`);
    const [existing] = await tx
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(eq(outbox.topic, notice.topic), eq(outbox.aggregateId, aggregateId)))
      .limit(1);
    if (existing) return false;
    await enqueueNotification(tx, notice.topic, aggregateId, notice.payload);
    return true;
  });
}

/** Queue consumer for notifications: retries with exponential backoff, then the DLQ takes over. */
export async function consumeNotifications(env: Env, db: Database, batch: MessageBatch<QueueMessage>) {
  let recorded = 0;
  for (const message of batch.messages) {
    const body = message.body;
    if (isDoNotice(body)) {
      try {
        if (await recordDoNotice(db, body)) recorded++;
        message.ack();
      } catch (error) {
        console.warn("notice not recorded", body.notice_key, error instanceof Error ? error.message : error);
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
      continue;
    }
    try {
      const outcome = await deliverNotification(env, db, body);
      if (outcome === "busy") message.retry({ delaySeconds: 30 });
      else message.ack();
    } catch (error) {
      console.warn("notification failed", body.outbox_id, error instanceof Error ? error.message : error);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
  // The new outbox rows go out now rather than at the next cron.
  if (recorded) await publishOutbox(env, db);
}

/** Dead-letter consumer: the message stays visible to operators on its outbox row. */
export async function recordDeadLetters(db: Database, batch: MessageBatch<QueueMessage>) {
  const ids = batch.messages.flatMap((m) => (isDoNotice(m.body) ? [] : [m.body.outbox_id]));
  for (const m of batch.messages) {
    logEvent(
      "notification.dead_lettered",
      isDoNotice(m.body) ? { notice_key: m.body.notice_key } : { outbox_id: m.body.outbox_id },
      "error",
    );
  }
  if (ids.length) await db.update(outbox).set({ deadLettered: true }).where(inArray(outbox.id, ids));
  for (const message of batch.messages) message.ack();
}
