import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Geometry, SeatMapOverlay, Show } from "../../api/types";
import { announce } from "../../components/announcer";
import { PageHeading } from "../../components/page-heading";
import { Loading, ProblemMessage } from "../../components/problem";
import { clockTime, money, showTime } from "../../i18n";
import { to } from "../../i18n/organizer";
import { useLoad } from "../../lib/use-load";
import OrganizerConsole from "./console";
import "./organizer.css";
import { Orders } from "./orders";
import { organizerSession } from "./organizer-session";
import { SeatBlocks } from "./seats";
import { SloPanel } from "./slo";
import type { RoomStats, Sales, SalesTimeline } from "./types";

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
  const [geometry, setGeometry] = useState<Geometry | null>(null);
  const [timeline, setTimeline] = useState<SalesTimeline | null>(null);
  const [refreshed, setRefreshed] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    Promise.all([
      api<RoomStats>(`/v1/admin/shows/${showId}/waiting-room`, { organizerKey }),
      api<Sales>(`/v1/admin/shows/${showId}/sales`, { organizerKey }),
      api<SeatMapOverlay>(`/v1/shows/${showId}/seat-map`),
      api<SalesTimeline>(`/v1/admin/shows/${showId}/sales/timeline?minutes=15`, { organizerKey }),
    ]).then(
      ([nextRoom, nextSales, overlay, nextTimeline]) => {
        if (!live) return;
        setRoom(nextRoom);
        setSales(nextSales);
        setTimeline(nextTimeline);
        setSections(overlay.sections);
        setUpdatedAt(Date.now());
        setError(null);
        if (!geometry) api<Geometry>(overlay.geometry.geometry_url).then(setGeometry);
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
  const names = Object.fromEntries((geometry?.sections ?? []).map((s) => [s.id, s.name]));
  const sectionMap = new Map(sections.map((section) => [section.section_id, section]));
  // After a block or a refund: read everything again now rather than at the next tick.
  const changed = () => {
    setRefreshed((n) => n + 1);
    setTick((n) => n + 1);
  };
  return (
    <div class="page console">
      <p>
        <a href="/organizer">{to.back}</a>
      </p>
      <PageHeading title={to.dashboard(show.data.event_name)}>{show.data.event_name}</PageHeading>
      <p class="lede">
        {showTime(show.data.starts_at, show.data.timezone)} · {show.data.venue.name} · <code>{showId}</code>
      </p>
      {updatedAt && <p class="muted small">{to.live(clockTime(updatedAt))}</p>}
      {error !== null && <ProblemMessage error={error} />}

      <section aria-labelledby="room-heading">
        <h2 id="room-heading">{to.room}</h2>
        {room && !room.enabled && <p>{to.roomOff}</p>}
        {room && (
          <dl class="stats" data-testid="room-stats">
            <Stat label={to.queued} value={room.queued} />
            <Stat
              label={to.admittedLastMinute}
              value={room.admitted_last_minute}
              note={to.ofRate(room.admit_per_minute)}
            />
            <Stat label={to.activeCheckouts} value={room.active_checkouts} note={to.ofMax(room.max_active)} />
            <Stat
              label={to.observedRate}
              value={room.observed_admit_per_minute}
              note={to.ofRate(room.admit_per_minute)}
            />
            <Stat label={to.oldestWait} value={to.seconds(room.oldest_wait_s)} />
            <Stat
              label={to.heldBack}
              value={room.admission_held_back ? to.yes : to.no}
              note={room.admission_held_back ? to.heldBackReason[room.admission_held_back] : to.notHeldBack}
            />
          </dl>
        )}
        {room && <RoomControls showId={showId} organizerKey={organizerKey} room={room} onChanged={setRoom} />}
      </section>

      <section aria-labelledby="sales-heading">
        <h2 id="sales-heading">{to.sales}</h2>
        {sales && (
          <dl class="stats" data-testid="sales-stats">
            <Stat label={to.sold} value={sales.counts.sold} />
            <Stat label={to.held} value={sales.counts.held} />
            <Stat label={to.available} value={sales.counts.available} />
            <Stat label={to.blocked} value={sales.counts.blocked} />
            <Stat label={to.orders} value={sales.confirmed_orders} />
            <Stat label={to.revenue} value={money(sales.revenue_cents, currency)} />
            <Stat label={to.refunded} value={money(sales.refunded_cents, currency)} />
          </dl>
        )}
        {timeline && <Timeline timeline={timeline} />}
        <h3 id="by-section-heading">{to.bySection}</h3>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it */}
        <section class="table-scroll" tabIndex={0} aria-labelledby="by-section-heading">
          <table class="orders">
            <thead>
              <tr>
                <th scope="col">{to.section}</th>
                <th scope="col">{to.sectionAvailable}</th>
                <th scope="col">{to.sectionTaken}</th>
                <th scope="col">{to.capacity}</th>
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

      <SloPanel showId={showId} organizerKey={organizerKey} />

      {geometry && show.data.status === "published" && (
        <SeatBlocks
          show={show.data}
          geometry={geometry}
          sections={sectionMap}
          organizerKey={organizerKey}
          onChanged={changed}
        />
      )}

      <Orders showId={showId} organizerKey={organizerKey} refreshed={refreshed} />
    </div>
  );
}

/** Orders and revenue per minute: bars for the eye, and the table itself for everyone. */
function Timeline({ timeline }: { timeline: SalesTimeline }) {
  const most = Math.max(1, ...timeline.minutes.map((m) => m.orders));
  const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <>
      <h3 id="per-minute-heading">{to.perMinute}</h3>
      <p class="muted small">{to.perMinuteHint}</p>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it */}
      <section class="table-scroll" tabIndex={0} aria-labelledby="per-minute-heading">
        <table class="orders timeline" data-testid="sales-timeline">
          <thead>
            <tr>
              <th scope="col">{to.minute}</th>
              <th scope="col">{to.minuteOrders}</th>
              <th scope="col">{to.minuteRevenue}</th>
            </tr>
          </thead>
          <tbody>
            {timeline.minutes.map((m) => (
              <tr key={m.minute}>
                <th scope="row">{time(m.minute)}</th>
                <td>
                  <span class="bar" aria-hidden="true" style={{ width: `${(m.orders / most) * 6}rem` }} />
                  {m.orders}
                </td>
                <td>{money(m.revenue_cents, timeline.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
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
      announce(to.saved);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <p>
        <span class="badge">{room.paused ? to.paused : to.running}</span>{" "}
        <button type="button" disabled={busy} onClick={() => patch({ paused: !room.paused })}>
          {room.paused ? to.resume : to.pause}
        </button>
      </p>
      <form
        class="room-settings"
        key={`${room.admit_per_minute}-${room.max_active}-${room.max_active_per_available_seat}-${room.checkout_window_s}-${room.opens_at}-${room.enabled}`}
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget as HTMLFormElement);
          const opensAt = String(form.get("opens_at") ?? "");
          const perSeat = String(form.get("max_active_per_available_seat") ?? "").trim();
          patch({
            max_active_per_available_seat: perSeat ? Number(perSeat) : null,
            enabled: form.get("enabled") === "on",
            admit_per_minute: Number(form.get("admit_per_minute")),
            max_active: Number(form.get("max_active")),
            checkout_window_s: Number(form.get("checkout_window_s")),
            opens_at: opensAt ? new Date(opensAt).toISOString() : null,
          });
        }}
      >
        <fieldset>
          <legend>{to.settings}</legend>
          <div class="check">
            <input id="room-enabled" name="enabled" type="checkbox" defaultChecked={room.enabled} />
            <label for="room-enabled">{to.enabled}</label>
          </div>
          <div class="field-row">
            <div class="field">
              <label for="room-rate">{to.admitPerMinute}</label>
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
              <label for="room-max">{to.maxActive}</label>
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
              <label for="room-per-seat">{to.perSeat}</label>
              <input
                id="room-per-seat"
                name="max_active_per_available_seat"
                type="number"
                min={0.01}
                max={100}
                step={0.01}
                defaultValue={
                  room.max_active_per_available_seat === null ? "" : String(room.max_active_per_available_seat)
                }
              />
            </div>
            <div class="field">
              <label for="room-window">{to.checkoutWindow}</label>
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
              <label for="room-opens">{to.opensAt}</label>
              <input id="room-opens" name="opens_at" type="datetime-local" defaultValue={toLocalInput(room.opens_at)} />
            </div>
          </div>
          <button type="submit" class="primary" disabled={busy}>
            {to.save}
          </button>
        </fieldset>
      </form>
      {error !== null && <ProblemMessage error={error} />}
    </>
  );
}
