import { useState } from "preact/hooks";
import { api } from "../api/client";
import type { Hold, Order, Page, Ticket, WaitlistEntry } from "../api/types";
import { Countdown } from "../components/countdown";
import { PageHeading } from "../components/page-heading";
import { Loading, ProblemMessage } from "../components/problem";
import { SignInForm } from "../components/sign-in-form";
import { downloadAuthorized, TicketQr } from "../components/ticket-qr";
import { money, showTime, t } from "../i18n";
import { useLoad } from "../lib/use-load";
import { session } from "../session";
import { knownWaitlists } from "./show/waitlist-store";

export default function WalletPage() {
  const fan = session.value;
  return (
    <div class="page">
      <PageHeading title={t.wallet.title}>{t.wallet.title}</PageHeading>
      {fan ? (
        <Wallet key={fan.fan_id} />
      ) : (
        <section class="panel narrow">
          <SignInForm />
        </section>
      )}
    </div>
  );
}

function Wallet() {
  const loaded = useLoad(
    (signal) =>
      Promise.all([
        api<Page<Ticket>>("/v1/me/tickets", { auth: true, signal }),
        api<Page<Order>>("/v1/me/orders?limit=50", { auth: true, signal }),
      ]),
    [],
  );
  if (loaded.loading) return <Loading />;
  if (!loaded.data) return <ProblemMessage error={loaded.error} onRetry={loaded.reload} />;
  const [tickets, orders] = loaded.data;
  return (
    <>
      <section aria-labelledby="tickets-heading">
        <h2 id="tickets-heading">{t.wallet.tickets}</h2>
        {tickets.data.length === 0 ? (
          <p>
            {t.wallet.noTickets} <a href="/">{t.wallet.browse}</a>
          </p>
        ) : (
          <ul class="tickets">
            {tickets.data.map((ticket) => (
              <TicketCard key={ticket.ticket_id} ticket={ticket} />
            ))}
          </ul>
        )}
      </section>
      <Waitlists fanId={session.value!.fan_id} />
      <section aria-labelledby="orders-heading">
        <h2 id="orders-heading">{t.wallet.orders}</h2>
        {orders.data.length === 0 ? (
          <p>{t.wallet.noOrders}</p>
        ) : (
          // A keyboard user must be able to scroll a table wider than a phone (WCAG 2.1.1).
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it
          <section class="table-scroll" tabIndex={0} aria-labelledby="orders-heading">
            <table class="orders">
              <thead>
                <tr>
                  <th scope="col">{t.wallet.order}</th>
                  <th scope="col">{t.wallet.date}</th>
                  <th scope="col">{t.wallet.seats}</th>
                  <th scope="col">{t.wallet.total}</th>
                  <th scope="col">{t.wallet.orderStatus}</th>
                </tr>
              </thead>
              <tbody>
                {orders.data.map((order) => (
                  <tr key={order.order_id}>
                    <td>
                      <code>{order.order_id}</code>
                    </td>
                    <td>{showTime(order.created_at)}</td>
                    <td>
                      {order.items
                        .map((item) => item.seat_id ?? t.picker.gaShort(item.section_id, item.ga_number ?? 0))
                        .join(", ")}
                    </td>
                    <td>{money(order.total_cents, order.currency)}</td>
                    <td>{t.wallet.orderStatuses[order.status] ?? order.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </section>
    </>
  );
}

function TicketCard({ ticket }: { ticket: Ticket }) {
  const [error, setError] = useState<unknown>(null);
  const seat =
    ticket.ga_number !== null
      ? t.picker.gaShort(ticket.section, ticket.ga_number)
      : `${ticket.section} · ${t.picker.listRow} ${ticket.row} · ${ticket.seat}`;
  return (
    <li class={`ticket ticket-${ticket.status}`}>
      <div class="ticket-body">
        <h3>{ticket.event_name}</h3>
        <p>{showTime(ticket.starts_at)}</p>
        <p>
          {ticket.venue.name}, {ticket.venue.city}
        </p>
        <p class="ticket-seat">
          {ticket.ga_number !== null
            ? t.picker.gaShort(ticket.section, ticket.ga_number)
            : t.picker.seatShort(ticket.section, ticket.row ?? "", ticket.seat ?? "")}
        </p>
        <p class="muted">
          {ticket.tier.name} · {money(ticket.price_cents, ticket.currency)} ·{" "}
          <span class="badge">{t.wallet.status[ticket.status] ?? ticket.status}</span>
        </p>
        <button
          type="button"
          aria-label={t.wallet.pdfFor(seat)}
          onClick={() => downloadAuthorized(ticket.pdf_url, `${ticket.ticket_id}.pdf`).catch(setError)}
        >
          {t.wallet.pdf}
        </button>
        {error !== null && <ProblemMessage error={error} />}
      </div>
      {ticket.status !== "void" && (
        <figure class="ticket-code">
          <TicketQr path={ticket.qr_url} label={t.wallet.qr(seat)} />
          <figcaption class="muted small">{t.wallet.gate}</figcaption>
        </figure>
      )}
    </li>
  );
}

/** The waitlists joined on this device: place, and an offer to buy before it expires. */
function Waitlists({ fanId }: { fanId: string }) {
  const known = knownWaitlists(fanId);
  const loaded = useLoad(
    (signal) =>
      Promise.all(
        known.map(async (entry) => {
          try {
            const status = await api<WaitlistEntry>(`/v1/shows/${entry.show_id}/waitlist`, { auth: true, signal });
            const offer =
              status.status === "offered" && status.offer_hold_id
                ? await api<Hold>(`/v1/holds/${status.offer_hold_id}`, { auth: true, signal }).catch(() => null)
                : null;
            return { ...entry, status, offer };
          } catch {
            return { ...entry, status: null, offer: null };
          }
        }),
      ),
    [fanId],
  );
  if (known.length === 0 || !loaded.data) return null;
  const entries = loaded.data.filter((entry) => entry.status);
  if (entries.length === 0) return null;
  return (
    <section aria-labelledby="waitlists-heading">
      <h2 id="waitlists-heading">{t.wallet.waitlists}</h2>
      <ul class="waitlists">
        {entries.map(({ show_id, event_name, status, offer }) => (
          <li key={show_id} class="panel">
            <h3>{event_name}</h3>
            <p>
              {status!.status === "waiting" && status!.position
                ? t.waitlist.position(status!.position, status!.quantity)
                : (t.waitlist.statuses[status!.status] ?? status!.status)}
            </p>
            {offer && (offer.status === "active" || offer.status === "checkout") && (
              <div class="notice notice-success">
                <p>
                  <strong>{t.waitlist.offer(offer.seat_ids.length, money(offer.price_cents, offer.currency))}</strong>
                </p>
                <Countdown deadlineMs={offer.expires_at_ms} label={t.waitlist.offerExpiresIn} onEnd={loaded.reload} />
              </div>
            )}
            <a href={`/shows/${show_id}`}>
              {status!.status === "offered" ? t.waitlist.takeOffer : t.wallet.waitlistOpen}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
