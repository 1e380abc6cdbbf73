import { showStub } from "../catalog/show-directory";
import type { Database } from "../db/client";
import { abandonCheckout, finalizeOrder, type OrderStatus } from "./lifecycle";

/** A hold in checkout outlives its order by this much, so an order never outlives its hold. */
export const HOLD_MARGIN_MS = 5_000;
export const holdUntil = (orderExpiresAt: Date) => orderExpiresAt.getTime() + HOLD_MARGIN_MS;

/**
 * Before a fan is handed anything to pay (a PaymentIntent's client secret, a server-side
 * confirm), the order's hold is made to last its payment window: to the order's expiry and a
 * margin, absolute, so asking again never keeps the seats longer than the order. A hold that is
 * no longer in checkout for the order (it lapsed while an answer was lost, or was let go), or an
 * order past its window, ends the checkout instead: its PaymentIntent is cancelled and the order
 * cancelled (reason `hold_expired`), and the seats are never charged for. If Stripe says the
 * payment went through meanwhile, or the hold is already sold to the order, the order is
 * finalized instead (seats still free are sold to it, otherwise the money goes back), and its
 * status is returned.
 */
export async function keepHold(
  env: Env,
  db: Database,
  showId: string,
  holdId: string,
  order: { id: string; expiresAt: Date; providerPaymentId: string | null },
): Promise<"kept" | "processing" | OrderStatus> {
  const kept = await (await showStub(env, showId)).stretchCheckout(holdId, order.id, holdUntil(order.expiresAt));
  // Sold to this order already: its finalize got as far as the Show DO (a free order has no
  // PaymentIntent to say it was paid), so it is finished, never cancelled under sold seats.
  if (kept?.status === "sold") return finalizeOrder(env, db, order.id);
  if (kept && order.expiresAt.getTime() > Date.now()) return "kept";
  const ended = await abandonCheckout(env, db, order.id, order.providerPaymentId, "hold_expired");
  return "order" in ended ? ended.order : "processing";
}
