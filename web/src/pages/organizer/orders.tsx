import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Loading, ProblemMessage } from "../../components/problem";
import { money } from "../../i18n";
import { to } from "../../i18n/organizer";
import type { AdminOrder } from "./types";

const STATUSES = ["confirmed", "refund_pending", "refunded", "pending_payment", "payment_failed", "cancelled"];

/**
 * The show's orders (newest first, by status, a page at a time), an order found by its id, and
 * a refund: in full, chosen tickets, or an amount. The outcome is the order as the API returns it.
 */
export function Orders({
  showId,
  organizerKey,
  refreshed,
}: {
  showId: string;
  organizerKey: string;
  refreshed: number;
}) {
  const [status, setStatus] = useState("");
  const [list, setList] = useState<{ orders: AdminOrder[]; cursor: string | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [current, setCurrent] = useState<AdminOrder | null>(null);
  const [findError, setFindError] = useState<unknown>(null);

  const load = async (cursor: string | null) => {
    setError(null);
    const query = new URLSearchParams({ limit: "10" });
    if (status) query.set("status", status);
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await api<Page<AdminOrder>>(`/v1/admin/shows/${showId}/orders?${query}`, { organizerKey });
      setList((previous) => ({
        orders: cursor && previous ? [...previous.orders, ...page.data] : page.data,
        cursor: page.next_cursor,
      }));
    } catch (caught) {
      setError(caught);
    }
  };
  useEffect(() => {
    load(null);
  }, [showId, status, refreshed]);

  const find = async (orderId: string) => {
    setFindError(null);
    try {
      setCurrent(await api<AdminOrder>(`/v1/admin/orders/${encodeURIComponent(orderId)}`, { organizerKey }));
    } catch (caught) {
      setFindError(caught);
    }
  };

  return (
    <section aria-labelledby="orders-heading">
      <h2 id="orders-heading">{to.ordersHeading}</h2>
      <div class="field-row">
        <form
          class="field-row"
          onSubmit={(event) => {
            event.preventDefault();
            const id = String(new FormData(event.currentTarget as HTMLFormElement).get("order_id") ?? "").trim();
            if (id) find(id);
          }}
        >
          <div class="field">
            <label for="find-order">{to.findOrder}</label>
            <input id="find-order" name="order_id" required autocomplete="off" />
          </div>
          <div class="field-actions">
            <button type="submit">{to.find}</button>
          </div>
        </form>
        <div class="field">
          <label for="order-status">{to.statusFilter}</label>
          <select
            id="order-status"
            value={status}
            onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{to.anyStatus}</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {to.orderStatuses[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {findError !== null && <ProblemMessage error={findError} />}
      {current && (
        <Refund
          key={current.order_id}
          order={current}
          organizerKey={organizerKey}
          onDone={(order) => {
            setCurrent(order);
            load(null);
          }}
          onClose={() => setCurrent(null)}
        />
      )}
      {error !== null && <ProblemMessage error={error} onRetry={() => load(null)} />}
      {!list && error === null && <Loading />}
      {list && list.orders.length === 0 && <p>{to.noOrders}</p>}
      {list && list.orders.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it
        <section class="table-scroll" tabIndex={0} aria-labelledby="orders-heading">
          <table class="orders" data-testid="show-orders">
            <thead>
              <tr>
                <th scope="col">{to.order}</th>
                <th scope="col">{to.created}</th>
                <th scope="col">{to.orderStatus}</th>
                <th scope="col">{to.seatsColumn}</th>
                <th scope="col">{to.total}</th>
                <th scope="col">{to.refundedColumn}</th>
                <th scope="col">
                  <span class="sr-only">{to.manageShort}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.orders.map((order) => (
                <tr key={order.order_id} data-order={order.order_id}>
                  <th scope="row">
                    <code>{order.order_id}</code>
                  </th>
                  <td>{new Date(order.created_at).toLocaleString()}</td>
                  <td>{to.orderStatuses[order.status] ?? order.status}</td>
                  <td>{order.items.map((item) => item.seat_id).join(", ")}</td>
                  <td>{money(order.total_cents, order.currency)}</td>
                  <td>{money(order.refunded_cents, order.currency)}</td>
                  <td>
                    <button type="button" aria-label={to.manage(order.order_id)} onClick={() => setCurrent(order)}>
                      {to.manageShort}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {list?.cursor && (
        <p>
          <button type="button" onClick={() => load(list.cursor)}>
            {to.loadMore}
          </button>
        </p>
      )}
    </section>
  );
}

function Refund({
  order,
  organizerKey,
  onDone,
  onClose,
}: {
  order: AdminOrder;
  organizerKey: string;
  onDone: (order: AdminOrder) => void;
  onClose: () => void;
}) {
  const [tickets, setTickets] = useState<Set<string>>(new Set());
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState("");
  // One key per intent: a click retried after a lost answer replays; any change is a new intent.
  const intent = useRef(crypto.randomUUID());
  const intentFull = useRef(crypto.randomUUID());
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const changed = () => {
    intent.current = crypto.randomUUID();
  };
  const left = order.total_cents - order.refunded_cents;
  const refundable = order.tickets.filter((ticket) => ticket.status === "valid");

  const submit = async (everything: boolean) => {
    setBusy(true);
    setError(null);
    setOutcome("");
    const body: Record<string, unknown> = {};
    if (!everything) {
      if (tickets.size) body.ticket_ids = [...tickets];
      const cents = Math.round(Number.parseFloat(amount.replace(",", ".")) * 100);
      if (amount.trim() && Number.isFinite(cents)) body.amount_cents = cents;
    }
    if (note.trim()) body.reason = note.trim();
    try {
      const after = await api<AdminOrder>(`/v1/admin/orders/${order.order_id}/refund`, {
        method: "POST",
        organizerKey,
        idempotencyKey: everything ? intentFull.current : intent.current,
        body,
      });
      intent.current = crypto.randomUUID();
      intentFull.current = crypto.randomUUID();
      setOutcome(
        to.refundDone(
          to.orderStatuses[after.status] ?? after.status,
          money(after.refunded_cents, after.currency),
          money(after.total_cents, after.currency),
        ),
      );
      onDone(after);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="panel refund-panel" data-testid="refund-panel">
      <h3 ref={heading} tabIndex={-1}>
        {to.refundHeading(order.order_id)}
      </h3>
      <p>
        {to.orderStatuses[order.status] ?? order.status} ·{" "}
        <span data-testid="refund-summary">
          {to.refundSummary(money(order.refunded_cents, order.currency), money(order.total_cents, order.currency))}
        </span>
      </p>
      {left <= 0 ? (
        <p>{to.nothingToRefund}</p>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            submit(false);
          }}
        >
          {refundable.length > 0 && (
            <fieldset class="seat-checkboxes">
              <legend>{to.refundTickets}</legend>
              {refundable.map((ticket) => (
                <div class="check" key={ticket.ticket_id}>
                  <input
                    id={`refund-${ticket.ticket_id}`}
                    type="checkbox"
                    checked={tickets.has(ticket.ticket_id)}
                    onChange={() => {
                      changed();
                      setTickets((current) => {
                        const next = new Set(current);
                        if (next.has(ticket.ticket_id)) next.delete(ticket.ticket_id);
                        else next.add(ticket.ticket_id);
                        return next;
                      });
                    }}
                  />
                  <label for={`refund-${ticket.ticket_id}`}>{to.refundTicket(ticket.seat_id)}</label>
                </div>
              ))}
            </fieldset>
          )}
          <div class="field-row">
            <div class="field">
              <label for="refund-amount">{to.refundAmount(order.currency)}</label>
              <input
                id="refund-amount"
                inputMode="decimal"
                pattern="[0-9]+([.,][0-9]{1,2})?"
                value={amount}
                aria-describedby="refund-amount-hint"
                onInput={(event) => {
                  changed();
                  setAmount((event.currentTarget as HTMLInputElement).value);
                }}
              />
              <small id="refund-amount-hint">{to.refundAmountHint}</small>
            </div>
            <div class="field">
              <label for="refund-note">{to.refundReason}</label>
              <input
                id="refund-note"
                maxLength={500}
                value={note}
                onInput={(event) => {
                  changed();
                  setNote((event.currentTarget as HTMLInputElement).value);
                }}
              />
            </div>
          </div>
          <div class="button-row">
            <button type="submit" class="primary" disabled={busy || (!tickets.size && !amount.trim())}>
              {busy ? to.refunding : to.refundSubmit}
            </button>
            <button type="button" disabled={busy} onClick={() => submit(true)}>
              {to.refundFull}
            </button>
          </div>
        </form>
      )}
      <p role="status" data-testid="refund-outcome">
        {outcome}
      </p>
      {error !== null && <ProblemMessage error={error} />}
      <button type="button" class="link-button" onClick={onClose}>
        {to.closeOrder}
      </button>
    </div>
  );
}
