import { useState } from "preact/hooks";
import { api } from "../api/client";
import type { Event, Page } from "../api/types";
import { PageHeading } from "../components/page-heading";
import { Loading, ProblemMessage } from "../components/problem";
import { showTime, t } from "../i18n";
import { useLoad } from "../lib/use-load";
import { navigate, queryOf } from "../router";

const FILTERS = ["q", "city", "performer", "from", "to"] as const;

/** Browse: the filters live in the URL, so a search can be bookmarked, shared and reloaded. */
export default function EventsPage({ search }: { search: string }) {
  const query = queryOf(search);
  const [extra, setExtra] = useState<{ events: Event[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const list = useLoad(
    (signal) => {
      setExtra(null);
      const params = new URLSearchParams();
      for (const name of FILTERS) if (query[name]) params.set(name, query[name]!);
      params.set("limit", "12");
      return api<Page<Event>>(`/v1/events?${params}`, { signal });
    },
    [search],
  );

  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = String(form.get(name) ?? "").trim();
      if (value) params.set(name, value);
    }
    navigate(`/${params.size ? `?${params}` : ""}`);
  };

  const events = [...(list.data?.data ?? []), ...(extra?.events ?? [])];
  const cursor = extra ? extra.cursor : (list.data?.next_cursor ?? null);
  const loadMore = async () => {
    if (!cursor) return;
    setMoreError(null);
    try {
      const params = new URLSearchParams({ cursor, limit: "12" });
      for (const name of FILTERS) if (query[name]) params.set(name, query[name]!);
      const page = await api<Page<Event>>(`/v1/events?${params}`);
      setExtra({ events: [...(extra?.events ?? []), ...page.data], cursor: page.next_cursor });
    } catch (error) {
      setMoreError(error);
    }
  };

  return (
    <div class="page">
      <PageHeading title={t.events.title}>{t.events.title}</PageHeading>
      <search>
        <form class="filters" onSubmit={onSubmit} key={search}>
          <div class="field field-wide">
            <label for="f-q">{t.events.search}</label>
            <input id="f-q" name="q" type="search" defaultValue={query.q ?? ""} aria-describedby="f-q-hint" />
            <small id="f-q-hint">{t.events.searchHint}</small>
          </div>
          <div class="field">
            <label for="f-city">{t.events.city}</label>
            <input id="f-city" name="city" defaultValue={query.city ?? ""} autocomplete="address-level2" />
          </div>
          <div class="field">
            <label for="f-performer">{t.events.performer}</label>
            <input id="f-performer" name="performer" defaultValue={query.performer ?? ""} />
          </div>
          <div class="field">
            <label for="f-from">{t.events.from}</label>
            <input id="f-from" name="from" type="date" defaultValue={query.from ?? ""} />
          </div>
          <div class="field">
            <label for="f-to">{t.events.to}</label>
            <input id="f-to" name="to" type="date" defaultValue={query.to ?? ""} />
          </div>
          <div class="field-actions">
            <button type="submit" class="primary">
              {t.events.apply}
            </button>
            {search && <a href="/">{t.events.clear}</a>}
          </div>
        </form>
      </search>

      {list.loading && <Loading />}
      {list.error !== null && <ProblemMessage error={list.error} onRetry={list.reload} />}
      {list.data && (
        <section aria-labelledby="results-heading">
          <h2 id="results-heading" class="results-count">
            {t.events.results(events.length, cursor !== null)}
          </h2>
          {events.length === 0 ? (
            <p>{t.events.none}</p>
          ) : (
            <ul class="cards">
              {events.map((event) => (
                <li key={event.event_id} class="card">
                  <h3>
                    <a href={`/events/${event.event_id}`}>{event.name}</a>
                  </h3>
                  {event.performers.length > 0 && <p class="muted">{event.performers.join(", ")}</p>}
                  <p>
                    {event.venue.name}, {event.venue.city}
                  </p>
                  <p class="muted">
                    {event.first_show_at ? t.events.firstShow(showTime(event.first_show_at)) : t.events.noShows}
                  </p>
                </li>
              ))}
            </ul>
          )}
          {moreError !== null && <ProblemMessage error={moreError} />}
          {cursor && (
            <button type="button" onClick={loadMore}>
              {t.events.more}
            </button>
          )}
        </section>
      )}
    </div>
  );
}
