import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { PageHeading } from "../../components/page-heading";
import { Loading, ProblemMessage } from "../../components/problem";
import { showTime } from "../../i18n";
import { to } from "../../i18n/organizer";
import { useLoad } from "../../lib/use-load";
import { navigate } from "../../router";
import "./organizer.css";
import { organizerSession, setOrganizerSession } from "./organizer-session";
import type { OrganizerEvent } from "./types";

/** `/organizer`: API-key sign-in, then the organizer's shows. */
export default function OrganizerConsole() {
  const session = organizerSession.value;
  return (
    <div class="page">
      <PageHeading title={to.title}>{to.title}</PageHeading>
      {session ? (
        <>
          <p>
            {to.signedInAs(session.name)}{" "}
            <button type="button" class="link-button" onClick={() => setOrganizerSession(null)}>
              {to.signOut}
            </button>
          </p>
          <ShowList organizerKey={session.key} />
        </>
      ) : (
        <KeyForm />
      )}
    </div>
  );
}

function KeyForm() {
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const key = String(new FormData(event.currentTarget as HTMLFormElement).get("key") ?? "").trim();
    setError(null);
    try {
      const me = await api<{ organizer_id: string; name: string }>("/v1/admin/organizer", { organizerKey: key });
      setOrganizerSession({ key, organizer_id: me.organizer_id, name: me.name });
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form class="panel narrow" onSubmit={onSubmit}>
      <div class="field">
        <label for="organizer-key">{to.keyLabel}</label>
        <input
          id="organizer-key"
          name="key"
          type="password"
          required
          autocomplete="off"
          aria-describedby="organizer-key-hint"
        />
        <small id="organizer-key-hint">{to.keyHint}</small>
      </div>
      <button type="submit" class="primary">
        {to.signIn}
      </button>
      {error !== null && <ProblemMessage error={error} />}
    </form>
  );
}

/** The organizer's events and their shows in any state (`GET /v1/admin/events`), a page at a time. */
function ShowList({ organizerKey }: { organizerKey: string }) {
  const [more, setMore] = useState<{ events: OrganizerEvent[]; cursor: string | null; loading: boolean }>({
    events: [],
    cursor: null,
    loading: false,
  });
  const [moreError, setMoreError] = useState<unknown>(null);
  const first = useLoad(
    (signal) => api<Page<OrganizerEvent>>("/v1/admin/events?limit=20", { organizerKey, signal }),
    [organizerKey],
  );
  const events = [...(first.data?.data ?? []), ...more.events];
  const cursor = more.events.length ? more.cursor : (first.data?.next_cursor ?? null);
  const loadMore = async () => {
    if (!cursor) return;
    setMore((m) => ({ ...m, loading: true }));
    setMoreError(null);
    try {
      const page = await api<Page<OrganizerEvent>>(`/v1/admin/events?limit=20&cursor=${encodeURIComponent(cursor)}`, {
        organizerKey,
      });
      setMore((m) => ({ events: [...m.events, ...page.data], cursor: page.next_cursor, loading: false }));
    } catch (caught) {
      setMoreError(caught);
      setMore((m) => ({ ...m, loading: false }));
    }
  };
  return (
    <>
      <h2>{to.shows}</h2>
      {first.loading && <Loading />}
      {first.error !== null && <ProblemMessage error={first.error} onRetry={first.reload} />}
      {first.data && events.length === 0 && <p>{to.noShows}</p>}
      {events.length > 0 && (
        <ul class="show-list" data-testid="organizer-events">
          {events.map((event) => (
            <li key={event.event_id} class="organizer-event">
              <h3 class="event-title">
                {event.name} <span class="badge">{to.eventStatus[event.status] ?? event.status}</span>
              </h3>
              <p class="muted small">
                {event.venue.name} · {to.showsOf(event.shows.length)}
              </p>
              {event.shows.length === 0 ? (
                <p class="muted">{to.noShowsYet}</p>
              ) : (
                <ul class="organizer-shows">
                  {event.shows.map((show) => (
                    <li key={show.show_id}>
                      <a href={`/organizer/shows/${show.show_id}`}>{showTime(show.starts_at, show.timezone)}</a>{" "}
                      <span class="badge">{to.eventStatus[show.status] ?? show.status}</span>{" "}
                      <code class="muted small">{show.show_id}</code>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <p>
          <button type="button" onClick={loadMore} disabled={more.loading}>
            {to.loadMore}
          </button>
        </p>
      )}
      {moreError !== null && <ProblemMessage error={moreError} onRetry={loadMore} />}
      <form
        class="field-row"
        onSubmit={(event) => {
          event.preventDefault();
          const id = String(new FormData(event.currentTarget as HTMLFormElement).get("show_id") ?? "").trim();
          if (id) navigate(`/organizer/shows/${encodeURIComponent(id)}`);
        }}
      >
        <div class="field">
          <label for="open-show">{to.showId}</label>
          <input id="open-show" name="show_id" required pattern="shw_[0-9a-z_]+" />
        </div>
        <div class="field-actions">
          <button type="submit">{to.open}</button>
        </div>
      </form>
    </>
  );
}
