import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Event, Page, Show } from "../../api/types";
import { PageHeading } from "../../components/page-heading";
import { Loading, ProblemMessage } from "../../components/problem";
import { showTime, t } from "../../i18n";
import { useLoad } from "../../lib/use-load";
import { navigate } from "../../router";
import { organizerSession, setOrganizerSession } from "./organizer-session";

/** `/organizer`: API-key sign-in, then the organizer's shows. */
export default function OrganizerConsole() {
  const session = organizerSession.value;
  return (
    <div class="page">
      <PageHeading title={t.organizer.title}>{t.organizer.title}</PageHeading>
      {session ? (
        <>
          <p>
            {t.organizer.signedInAs(session.name)}{" "}
            <button type="button" class="link-button" onClick={() => setOrganizerSession(null)}>
              {t.organizer.signOut}
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
        <label for="organizer-key">{t.organizer.keyLabel}</label>
        <input
          id="organizer-key"
          name="key"
          type="password"
          required
          autocomplete="off"
          aria-describedby="organizer-key-hint"
        />
        <small id="organizer-key-hint">{t.organizer.keyHint}</small>
      </div>
      <button type="submit" class="primary">
        {t.organizer.signIn}
      </button>
      {error !== null && <ProblemMessage error={error} />}
    </form>
  );
}

/**
 * The API has no "my events" list for organizers yet: the console walks the published catalog
 * and keeps the shows the key may read (`GET /v1/admin/shows/{id}` answers 404 for others').
 */
function ShowList({ organizerKey }: { organizerKey: string }) {
  const shows = useLoad(
    async (signal) => {
      const events = await api<Page<Event>>("/v1/events?limit=100", { signal });
      const perEvent = await Promise.all(
        events.data.map((event) => api<Page<Show>>(`/v1/events/${event.event_id}/shows`, { signal })),
      );
      const all = perEvent.flatMap((page) => page.data);
      const mine = await Promise.all(
        all.map((show) =>
          api<Show>(`/v1/admin/shows/${show.show_id}`, { organizerKey, signal }).then(
            () => show,
            () => null,
          ),
        ),
      );
      return mine.filter((show): show is Show => show !== null);
    },
    [organizerKey],
  );
  return (
    <>
      <h2>{t.organizer.shows}</h2>
      {shows.loading && <Loading />}
      {shows.error !== null && <ProblemMessage error={shows.error} onRetry={shows.reload} />}
      {shows.data && shows.data.length === 0 && <p>{t.organizer.noShows}</p>}
      {shows.data && shows.data.length > 0 && (
        <ul class="show-list">
          {shows.data.map((show) => (
            <li key={show.show_id} class="show-row">
              <div>
                <p class="show-date">
                  <a href={`/organizer/shows/${show.show_id}`}>{show.event_name}</a>
                </p>
                <p class="muted">
                  {showTime(show.starts_at, show.timezone)} · {show.venue.name} · <code>{show.show_id}</code>
                </p>
              </div>
            </li>
          ))}
        </ul>
      )}
      <form
        class="field-row"
        onSubmit={(event) => {
          event.preventDefault();
          const id = String(new FormData(event.currentTarget as HTMLFormElement).get("show_id") ?? "").trim();
          if (id) navigate(`/organizer/shows/${encodeURIComponent(id)}`);
        }}
      >
        <div class="field">
          <label for="open-show">{t.organizer.showId}</label>
          <input id="open-show" name="show_id" required pattern="shw_[0-9a-z_]+" />
        </div>
        <div class="field-actions">
          <button type="submit">{t.organizer.open}</button>
        </div>
      </form>
    </>
  );
}
