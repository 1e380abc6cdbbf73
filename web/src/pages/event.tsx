import { api } from "../api/client";
import type { Event, Page, Show } from "../api/types";
import { PageHeading } from "../components/page-heading";
import { Loading, ProblemMessage } from "../components/problem";
import { showTime, t } from "../i18n";
import { useLoad } from "../lib/use-load";

export default function EventPage({ params }: { params: Record<string, string> }) {
  const id = params.event_id!;
  const loaded = useLoad(
    (signal) =>
      Promise.all([
        api<Event>(`/v1/events/${encodeURIComponent(id)}`, { signal }),
        api<Page<Show>>(`/v1/events/${encodeURIComponent(id)}/shows`, { signal }),
      ]),
    [id],
  );
  if (loaded.loading) return <Loading />;
  if (!loaded.data) return <ProblemMessage error={loaded.error} onRetry={loaded.reload} />;
  const [event, shows] = loaded.data;
  const now = Date.now();
  return (
    <div class="page">
      <PageHeading title={event.name}>{event.name}</PageHeading>
      {event.performers.length > 0 && (
        <p class="lede">
          {t.event.performers} {event.performers.join(", ")}
        </p>
      )}
      <p>
        {event.venue.name}, {event.venue.city}
      </p>
      {event.description && <p>{event.description}</p>}
      <h2>{t.event.shows}</h2>
      {shows.data.length === 0 ? (
        <p>{t.event.noShows}</p>
      ) : (
        <ul class="show-list">
          {shows.data.map((show) => (
            <li key={show.show_id} class="show-row">
              <div>
                <p class="show-date">{showTime(show.starts_at, show.timezone)}</p>
                <p class="muted">
                  {show.venue.name}, {show.venue.city}
                </p>
              </div>
              {show.status === "cancelled" ? (
                <span class="badge">{t.event.cancelled}</span>
              ) : (
                <div class="show-actions">
                  {Date.parse(show.on_sale_at) > now && (
                    <span class="muted">{t.event.onSaleAt(showTime(show.on_sale_at, show.timezone))}</span>
                  )}
                  <a class="button primary" href={`/shows/${show.show_id}`}>
                    {t.event.tickets}
                    <span class="sr-only">, {showTime(show.starts_at, show.timezone)}</span>
                  </a>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
