import type { Database } from "../db/client";
import { outbox } from "../db/schema";

export type NotificationTopic =
  | "order.confirmed"
  | "order.payment_failed"
  | "hold.expired"
  | "order.refunded"
  | "waitlist.offer";

type Writer = Pick<Database, "insert">;

/**
 * Records that a fan must hear about something. Call it inside the transaction that makes the
 * change, so the message exists if and only if the change does.
 */
export async function enqueueNotification(
  tx: Writer,
  topic: NotificationTopic,
  aggregateId: string,
  payload: Record<string, unknown>,
) {
  await notificationInsert(tx, topic, aggregateId, payload);
}

/**
 * The outbox insert of `enqueueNotification`, not yet run: for a caller that sends it as part of
 * a bigger statement (one round trip), in the transaction that makes the change.
 */
export function notificationInsert(
  tx: Writer,
  topic: NotificationTopic,
  aggregateId: string,
  payload: Record<string, unknown>,
) {
  outboxWritten.since = Date.now();
  return tx.insert(outbox).values({ topic, aggregateId, payload });
}

/**
 * When this isolate last wrote a message to the outbox (0: never): a request that wrote none
 * need not ask Postgres for unpublished messages (src/middleware/outbox.ts). Set on the insert,
 * before its transaction commits; a publish that finds nothing committed yet costs one read.
 */
export const outboxWritten = { since: 0 };
