import type { Order, Show } from "../../../api/types";
import { TicketQr } from "../../../components/ticket-qr";
import { t } from "../../../i18n";

export function Confirmed({ order, show }: { order: Order; show: Show }) {
  return (
    <section class="panel panel-success" aria-labelledby="confirmed-heading">
      <h2 id="confirmed-heading" tabIndex={-1}>
        {t.checkout.confirmed}
      </h2>
      <ul class="ticket-grid">
        {order.tickets.map((ticket) => {
          const place = ticket.seat_id ?? t.picker.gaShort(ticket.section_id, ticket.ga_number ?? 0);
          return (
            <li key={ticket.ticket_id} class="ticket-mini">
              <TicketQr path={ticket.qr_url} label={t.wallet.qr(place)} />
              <span>{place}</span>
            </li>
          );
        })}
      </ul>
      <p>
        <a class="button primary" href="/me">
          {t.checkout.toWallet}
        </a>
      </p>
      <p class="sr-only">{show.event_name}</p>
    </section>
  );
}
