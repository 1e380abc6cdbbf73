import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api } from "../../api/client";
import type { QueueSession, Show } from "../../api/types";
import { announce } from "../../components/announcer";
import { Countdown } from "../../components/countdown";
import { clockTime, t } from "../../i18n";
import { serverNow } from "../../lib/server-clock";
import { turnstileToken } from "../../lib/turnstile";
import type { FanSession } from "../../session";
import { loadPlace, type QueuePlace, savePlace } from "./queue-store";
import { WaitlistPanel } from "./waitlist";

type View =
  | { kind: "joining" }
  | { kind: "waiting"; session: QueueSession; place: QueuePlace; updatedAt: number }
  | { kind: "admitted"; session: QueueSession }
  | { kind: "soldOut"; session: QueueSession }
  | { kind: "expired" };

const MIN_POLL_MS = 1_000;

/**
 * The waiting page: joins the show's queue (or finds the stored place), then polls at the
 * server's `poll_after_ms`. Admission is announced in the assertive live region and in the
 * page title; the fan moves on with a button, never by a sudden change of page.
 */
export function Waiting({
  show,
  fan,
  onAdmitted,
  onRoomOff,
  onWaitlistOffer,
}: {
  show: Show;
  fan: FanSession;
  onAdmitted: () => void;
  onRoomOff: () => void;
  /** A waitlist offer arrived: the fan takes it where the seats are shown. */
  onWaitlistOffer: () => void;
}) {
  const [view, setView] = useState<View>({ kind: "joining" });
  const [offline, setOffline] = useState(false);
  const [paused, setPaused] = useState(show.waiting_room?.paused ?? false);
  const [attempt, setAttempt] = useState(0);
  const choose = useRef<HTMLButtonElement>(null);
  /** The last answer was sold out: a fan who joined then has no place, and joins when it ends. */
  const soldOut = useRef(false);
  const botCheck = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const later = (ms: number) => {
      if (!stopped) timer = setTimeout(step, Math.max(MIN_POLL_MS, ms));
    };
    // Joining with the ticket this device holds returns that same place.
    const join = async (ticket?: string) => {
      const token = await turnstileToken(botCheck.current);
      return api<QueueSession>("/v1/waiting-room/sessions", {
        method: "POST",
        auth: true,
        body: token ? { show_id: show.show_id, turnstile_token: token } : { show_id: show.show_id },
        headers: ticket ? { "waiting-room-ticket": ticket } : {},
      });
    };

    async function step() {
      const stored = loadPlace(fan.fan_id, show.show_id);
      let session: QueueSession;
      try {
        if (stored) {
          try {
            session = await api<QueueSession>(`/v1/waiting-room/sessions/${stored.session_id}`, {
              auth: true,
              headers: { "waiting-room-ticket": stored.ticket },
            });
          } catch (error) {
            // A ticket that expired (tab closed for a while) or is not ours: joining again
            // returns the live place if there still is one.
            if (!(error instanceof ApiProblem) || ![401, 403, 404].includes(error.status)) throw error;
            session = await join(stored.ticket);
          }
        } else session = await join();
      } catch (error) {
        if (stopped) return;
        if (error instanceof ApiProblem && error.code === "waiting_room_disabled") return onRoomOff();
        if (error instanceof ApiProblem && error.status === 429) return later((error.retryAfterS ?? 2) * 1000);
        failures++;
        setOffline(true);
        return later(Math.min(10_000, 1_000 * 2 ** failures));
      }
      if (stopped) return;
      failures = 0;
      setOffline(false);
      const previous = loadPlace(fan.fan_id, show.show_id);
      const samePlace = previous?.session_id === session.session_id;
      const place: QueuePlace = {
        session_id: session.session_id,
        ticket: session.ticket,
        first_position: (samePlace ? previous?.first_position : null) ?? session.position,
        ...(session.admission_token
          ? { admission_token: session.admission_token, admission_expires_at_ms: session.admission_expires_at_ms }
          : {}),
      };
      savePlace(fan.fan_id, show.show_id, place);
      if (session.status === "admitted") {
        setView({ kind: "admitted", session });
        document.title = t.waiting.admittedTitle;
        announce(`${t.waiting.admitted} ${t.waiting.admittedWindow(windowMinutes(session))}`, { assertive: true });
        return;
      }
      if (session.status === "expired" && soldOut.current) {
        soldOut.current = false;
        savePlace(fan.fan_id, show.show_id, null);
        return step();
      }
      if (session.status === "expired") {
        setView({ kind: "expired" });
        announce(t.waiting.expired, { assertive: true });
        return;
      }
      // Sold out: the place is kept (a refund may bring seats back), and polls slow down.
      soldOut.current = session.status === "sold_out";
      if (session.status === "sold_out") {
        setView((previous) => {
          if (previous.kind !== "soldOut") announce(t.waiting.soldOut, { assertive: true });
          return { kind: "soldOut", session };
        });
        document.title = `${t.waiting.soldOutTitle} · ${t.appName}`;
        return later(session.poll_after_ms);
      }
      setView((previous) => {
        if (
          session.inventory === "all_held" &&
          (previous.kind !== "waiting" || previous.session.inventory !== "all_held")
        )
          announce(t.waiting.allHeld);
        return { kind: "waiting", session, place, updatedAt: Date.now() };
      });
      document.title = `${t.waiting.pageTitle(session.position)} · ${t.appName}`;
      later(session.poll_after_ms);
    }

    step();
    // Whether the organizer paused the line is part of the show, not of the place: read it
    // now and then rather than on every poll.
    const pausedTimer = setInterval(() => {
      api<Show>(`/v1/shows/${show.show_id}`)
        .then((fresh) => setPaused(fresh.waiting_room?.paused ?? false))
        .catch(() => {});
    }, 30_000);
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(pausedTimer);
    };
  }, [show.show_id, fan.fan_id, attempt]);

  useEffect(() => {
    if (view.kind === "admitted") choose.current?.focus();
  }, [view.kind]);

  const rejoin = () => {
    savePlace(fan.fan_id, show.show_id, null);
    setView({ kind: "joining" });
    setAttempt((n) => n + 1);
  };

  if (view.kind === "admitted") {
    return (
      <section class="panel panel-success" aria-labelledby="turn-heading">
        <h2 id="turn-heading">{t.waiting.admitted}</h2>
        <p>{t.waiting.admittedWindow(windowMinutes(view.session))}</p>
        <button ref={choose} type="button" class="primary large" onClick={onAdmitted}>
          {t.waiting.choose}
        </button>
      </section>
    );
  }
  if (view.kind === "soldOut") {
    return (
      <>
        <section class="panel" aria-labelledby="sold-out-heading">
          <h2 id="sold-out-heading">{t.waiting.soldOutHeading}</h2>
          <p>{t.waiting.soldOut}</p>
          <p class="muted">{t.waiting.soldOutKept}</p>
        </section>
        <WaitlistPanel show={show} fan={fan} soldOut onOffer={onWaitlistOffer} />
      </>
    );
  }
  if (view.kind === "expired") {
    return (
      <section class="panel">
        <p>{t.waiting.expired}</p>
        <button type="button" class="primary" onClick={rejoin}>
          {t.waiting.rejoin}
        </button>
      </section>
    );
  }
  const holdMinutes = Math.max(1, Math.round(show.hold_ttl_s / 60));
  const opensAtMs = show.waiting_room?.opens_at ? Date.parse(show.waiting_room.opens_at) : null;
  return (
    <section class="panel waiting" aria-labelledby="waiting-heading">
      <h2 id="waiting-heading">{t.waiting.title}</h2>
      <p>{t.waiting.intro}</p>
      {offline && (
        <p class="notice notice-warning" role="status">
          {t.waiting.reconnecting}
        </p>
      )}
      {paused && (
        <p class="notice notice-warning" role="status">
          {t.waiting.paused}
        </p>
      )}
      {!paused && view.kind === "waiting" && view.session.inventory === "all_held" && (
        <p class="notice notice-warning">{t.waiting.allHeld}</p>
      )}
      <div ref={botCheck} class="bot-check" />
      {view.kind === "joining" ? (
        <p role="status">{t.loading}</p>
      ) : (
        <>
          {opensAtMs !== null && opensAtMs > serverNow() && <PreQueue opensAtMs={opensAtMs} />}
          <InLine session={view.session} place={view.place} paused={paused} />
        </>
      )}
      {view.kind === "waiting" && <p class="muted">{t.waiting.lastUpdated(clockTime(view.updatedAt))}</p>}
      <p class="muted">{t.waiting.holdWindow(holdMinutes)}</p>
    </section>
  );
}

function PreQueue({ opensAtMs }: { opensAtMs: number }) {
  return (
    <>
      <p>{t.waiting.prequeue}</p>
      <Countdown deadlineMs={opensAtMs} label={t.waiting.opensIn} urgentBelowMs={0} />
    </>
  );
}

function InLine({ session, place, paused }: { session: QueueSession; place: QueuePlace; paused: boolean }) {
  const position = session.position ?? 0;
  const first = Math.max(position, place.first_position ?? position);
  const done = first <= 1 ? 0 : Math.round(((first - position) / (first - 1)) * 100);
  const ahead = Math.max(0, position - 1);
  const range = session.position_range;
  return (
    <>
      <dl class="queue-stats">
        <div>
          <dt>{t.waiting.position}</dt>
          <dd class="big-number">#{position}</dd>
          {range && range.low !== range.high && (
            <dd class="muted small">{t.waiting.positionRange(range.low, range.high)}</dd>
          )}
        </div>
        <div>
          <dt>{t.waiting.eta}</dt>
          <dd>
            {paused ? t.waiting.etaPaused : session.inventory === "all_held" ? t.waiting.etaAllHeld : etaRange(session)}
          </dd>
        </div>
      </dl>
      <p>{t.waiting.ahead(ahead)}</p>
      <div
        class="progress"
        role="progressbar"
        aria-label={t.waiting.progress}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={done}
        aria-valuetext={t.waiting.ahead(ahead)}
      >
        <div class="progress-fill" style={{ width: `${Math.max(2, done)}%` }} />
      </div>
    </>
  );
}

/**
 * A range, not a promise: the API's own range when it sends one (where the place may be, at
 * about 95% confidence), else a margin around its estimate, as admission rates change.
 */
function etaRange(session: QueueSession): string {
  const lowS = session.estimated_wait_range_s?.low ?? session.estimated_wait_s * 0.8;
  const highS = session.estimated_wait_range_s?.high ?? session.estimated_wait_s * 1.3;
  if (highS < 60) return t.waiting.lessThanAMinute;
  const low = Math.max(1, Math.floor(lowS / 60));
  const high = Math.max(low, Math.ceil(highS / 60));
  return t.waiting.etaRange(t.waiting.minutes(low), t.waiting.minutes(high));
}

const windowMinutes = (session: QueueSession) =>
  Math.max(1, Math.round(((session.admission_expires_at_ms ?? serverNow()) - session.server_time_ms) / 60_000));
