import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Geometry, SeatMapOverlay, Show } from "../../api/types";
import { announce } from "../../components/announcer";
import { PageHeading } from "../../components/page-heading";
import { Loading, ProblemMessage } from "../../components/problem";
import { clockTime, money, showTime, t } from "../../i18n";
import { useLoad } from "../../lib/use-load";
import OrganizerConsole from "./console";
import { organizerSession } from "./organizer-session";

interface RoomStats {
  enabled: boolean;
  paused: boolean;
  admit_per_minute: number;
  max_active: number;
  checkout_window_s: number;
  opens_at: string | null;
  queued: number;
  admitted_last_minute: number;
  active_checkouts: number;
  oldest_wait_s: number;
  server_time_ms: number;
}

interface Sales {
  counts: { available: number; held: number; sold: number; blocked: number; capacity: number };
  confirmed_orders: number;
  revenue_cents: number;
  refunded_cents: number;
  currency: string;
}

/** How often the dashboard reads the room and the sales: the room itself changes every second. */
const REFRESH_MS = 2_000;

/** `/organizer/shows/{id}`: a live dashboard and the room's controls while the sale runs. */
export default function Dashboard({ params }: { params: Record<string, string> }) {
  const session = organizerSession.value;
  if (!session) return <OrganizerConsole />;
  return <Live showId={params.show_id!} organizerKey={session.key} />;
}

function Live({ showId, organizerKey }: { showId: string; organizerKey: string }) {
  const show = useLoad((signal) => api<Show>(`/v1/admin/shows/${showId}`, { organizerKey, signal }), [showId]);
  const [room, setRoom] = useState<RoomStats | null>(null);
  const [sales, setSales] = useState<Sales | null>(null);
  const [sections, setSections] = useState<SeatMapOverlay["sections"]>([]);
  const [names, setNames] = useState<Record<string, string>>({});
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    Promise.all([
      api<RoomStats>(`/v1/admin/shows/${showId}/waiting-room`, { organizerKey }),
      api<Sales>(`/v1/admin/shows/${showId}/sales`, { organizerKey }),
      api<SeatMapOverlay>(`/v1/shows/${showId}/seat-map`),
    ]).then(
      ([nextRoom, nextSales, overlay]) => {
        if (!live) return;
        setRoom(nextRoom);
        setSales(nextSales);
        setSections(overlay.sections);
        setUpdatedAt(Date.now());
        setError(null);
        if (Object.keys(names).length === 0) {
          api<Geometry>(overlay.geometry.geometry_url).then((geometry) =>
            setNames(Object.fromEntries(geometry.sections.map((s) => [s.id, s.name]))),
          );
        }
      },
      (caught) => live && setError(caught),
    );
    const timer = setTimeout(() => setTick((n) => n + 1), REFRESH_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [showId, tick]);

  if (show.loading) return <Loading />;
  if (!show.data) return <ProblemMessage error={show.error} onRetry={show.reload} />;
  const currency = sales?.currency ?? show.data.currency;
  return (
    <div class="page console">
      <p>
        <a href="/organizer">{t.organizer.back}</a>
      </p>
      <PageHeading title={t.organizer.dashboard(show.data.event_name)}>{show.data.event_name}</PageHeading>
      <p class="lede">
        {showTime(show.data.starts_at, show.data.timezone)} · {show.data.venue.name} · <code>{showId}</code>
      </p>
      {updatedAt && <p class="muted small">{t.organizer.live(clockTime(updatedAt))}</p>}
      {error !== null && <ProblemMessage error={error} />}

      <section aria-labelledby="room-heading">
        <h2 id="room-heading">{t.organizer.room}</h2>
        {room && !room.enabled && <p>{t.organizer.roomOff}</p>}
        {room && (
          <dl class="stats" data-testid="room-stats">
            <Stat label={t.organizer.queued} value={room.queued} />
            <Stat
              label={t.organizer.admittedLastMinute}
              value={room.admitted_last_minute}
              note={t.organizer.ofRate(room.admit_per_minute)}
            />
            <Stat
              label={t.organizer.activeCheckouts}
              value={room.active_checkouts}
              note={t.organizer.ofMax(room.max_active)}
            />
            <Stat label={t.organizer.oldestWait} value={t.organizer.seconds(room.oldest_wait_s)} />
          </dl>
        )}
        {room && <RoomControls showId={showId} organizerKey={organizerKey} room={room} onChanged={setRoom} />}
      </section>

      <section aria-labelledby="sales-heading">
        <h2 id="sales-heading">{t.organizer.sales}</h2>
        {sales && (
          <dl class="stats" data-testid="sales-stats">
            <Stat label={t.organizer.sold} value={sales.counts.sold} />
            <Stat label={t.organizer.held} value={sales.counts.held} />
            <Stat label={t.organizer.available} value={sales.counts.available} />
            <Stat label={t.organizer.blocked} value={sales.counts.blocked} />
            <Stat label={t.organizer.orders} value={sales.confirmed_orders} />
            <Stat label={t.organizer.revenue} value={money(sales.revenue_cents, currency)} />
            <Stat label={t.organizer.refunded} value={money(sales.refunded_cents, currency)} />
          </dl>
        )}
        <h3 id="by-section-heading">{t.organizer.bySection}</h3>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it */}
        <section class="table-scroll" tabIndex={0} aria-labelledby="by-section-heading">
          <table class="orders">
            <thead>
              <tr>
                <th scope="col">{t.organizer.section}</th>
                <th scope="col">{t.organizer.sectionAvailable}</th>
                <th scope="col">{t.organizer.sectionTaken}</th>
                <th scope="col">{t.organizer.capacity}</th>
              </tr>
            </thead>
            <tbody>
              {sections.map((section) => (
                <tr key={section.section_id}>
                  <th scope="row">{names[section.section_id] ?? section.section_id}</th>
                  <td>{section.available}</td>
                  <td>{section.total - section.available}</td>
                  <td>{section.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </section>
    </div>
  );
}

function Stat({ label, value, note }: { label: string; value: string | number; note?: string }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd class="stat-value">{value}</dd>
      {note && <dd class="muted small">{note}</dd>}
    </div>
  );
}

/** `datetime-local` speaks the browser's local time; the API wants an instant. */
const toLocalInput = (iso: string | null) => {
  if (!iso) return "";
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

function RoomControls({
  showId,
  organizerKey,
  room,
  onChanged,
}: {
  showId: string;
  organizerKey: string;
  room: RoomStats;
  onChanged: (room: RoomStats) => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const patch = async (body: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(
        await api<RoomStats>(`/v1/admin/shows/${showId}/waiting-room`, { method: "PATCH", organizerKey, body }),
      );
      announce(t.organizer.saved);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <p>
        <span class="badge">{room.paused ? t.organizer.paused : t.organizer.running}</span>{" "}
        <button type="button" disabled={busy} onClick={() => patch({ paused: !room.paused })}>
          {room.paused ? t.organizer.resume : t.organizer.pause}
        </button>
      </p>
      <form
        class="room-settings"
        key={`${room.admit_per_minute}-${room.max_active}-${room.checkout_window_s}-${room.opens_at}-${room.enabled}`}
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget as HTMLFormElement);
          const opensAt = String(form.get("opens_at") ?? "");
          patch({
            enabled: form.get("enabled") === "on",
            admit_per_minute: Number(form.get("admit_per_minute")),
            max_active: Number(form.get("max_active")),
            checkout_window_s: Number(form.get("checkout_window_s")),
            opens_at: opensAt ? new Date(opensAt).toISOString() : null,
          });
        }}
      >
        <fieldset>
          <legend>{t.organizer.settings}</legend>
          <div class="check">
            <input id="room-enabled" name="enabled" type="checkbox" defaultChecked={room.enabled} />
            <label for="room-enabled">{t.organizer.enabled}</label>
          </div>
          <div class="field-row">
            <div class="field">
              <label for="room-rate">{t.organizer.admitPerMinute}</label>
              <input
                id="room-rate"
                name="admit_per_minute"
                type="number"
                min={1}
                required
                defaultValue={String(room.admit_per_minute)}
              />
            </div>
            <div class="field">
              <label for="room-max">{t.organizer.maxActive}</label>
              <input
                id="room-max"
                name="max_active"
                type="number"
                min={1}
                required
                defaultValue={String(room.max_active)}
              />
            </div>
            <div class="field">
              <label for="room-window">{t.organizer.checkoutWindow}</label>
              <input
                id="room-window"
                name="checkout_window_s"
                type="number"
                min={60}
                max={3600}
                required
                defaultValue={String(room.checkout_window_s)}
              />
            </div>
            <div class="field">
              <label for="room-opens">{t.organizer.opensAt}</label>
              <input id="room-opens" name="opens_at" type="datetime-local" defaultValue={toLocalInput(room.opens_at)} />
            </div>
          </div>
          <button type="submit" class="primary" disabled={busy}>
            {t.organizer.save}
          </button>
        </fieldset>
      </form>
      {error !== null && <ProblemMessage error={error} />}
    </>
  );
}
