import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api } from "../../api/client";
import type { Hold, Show, WaitlistEntry } from "../../api/types";
import { announce } from "../../components/announcer";
import { Countdown } from "../../components/countdown";
import { ProblemMessage } from "../../components/problem";
import { money, t } from "../../i18n";
import { newKey } from "../../lib/storage";
import type { FanSession } from "../../session";
import { loadPlace } from "./queue-store";
import { forgetWaitlist, rememberWaitlist } from "./waitlist-store";

// A sold-out show's waitlist: join with a number of tickets, see the place, and when seats come
// back the API reserves them for the fan first (an offer: a hold to order before it expires).

const POLL_MS = 5_000;

export function WaitlistPanel({
  show,
  fan,
  soldOut,
  onOffer,
}: {
  show: Show;
  fan: FanSession;
  soldOut: boolean;
  /** The fan takes the offer: its hold goes to checkout. */
  onOffer: (hold: Hold) => void;
}) {
  const [entry, setEntry] = useState<WaitlistEntry | null>(null);
  const [offer, setOffer] = useState<Hold | null>(null);
  const [quantity, setQuantity] = useState(Math.min(2, show.ticket_limit));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [checked, setChecked] = useState(false);
  const joinKey = useRef(newKey());
  const path = `/v1/shows/${show.show_id}/waitlist`;

  const read = async () => {
    try {
      const fresh = await api<WaitlistEntry>(path, { auth: true });
      setEntry((previous) => {
        if (fresh.status === "offered" && previous?.status !== "offered")
          announce(t.waitlist.offerArrived, { assertive: true });
        return fresh;
      });
      if (fresh.status === "offered" && fresh.offer_hold_id) {
        setOffer(await api<Hold>(`/v1/holds/${fresh.offer_hold_id}`, { auth: true }));
      } else setOffer(null);
    } catch (caught) {
      if (!(caught instanceof ApiProblem && caught.status === 404)) setError(caught);
      else setEntry(null);
    } finally {
      setChecked(true);
    }
  };

  useEffect(() => {
    read();
  }, [show.show_id]);
  useEffect(() => {
    if (entry?.status !== "waiting") return;
    const timer = setInterval(() => document.visibilityState === "visible" && read(), POLL_MS);
    return () => clearInterval(timer);
  }, [entry?.status]);

  const join = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // With a waiting room, the place in line (or the sold-out answer to the join) is the pass:
      // the waitlist is only open to fans who came through the door.
      const ticket = loadPlace(fan.fan_id, show.show_id)?.ticket;
      const joined = await api<WaitlistEntry>(path, {
        method: "POST",
        auth: true,
        idempotencyKey: joinKey.current,
        body: { quantity },
        headers: ticket ? { "waiting-room-ticket": ticket } : {},
      });
      rememberWaitlist(fan.fan_id, { show_id: show.show_id, event_name: show.event_name });
      setEntry(joined);
      announce(t.waitlist.joined(joined.position ?? 0));
    } catch (caught) {
      joinKey.current = newKey();
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const leave = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(path, { method: "DELETE", auth: true });
      forgetWaitlist(fan.fan_id, show.show_id);
      setEntry(null);
      setOffer(null);
      announce(t.waitlist.left);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (!checked) return null;
  const live = entry && (entry.status === "waiting" || entry.status === "offered");
  if (!live && !soldOut) return null;

  return (
    <section class="panel waitlist" aria-labelledby="waitlist-heading">
      <h2 id="waitlist-heading">{t.waitlist.title}</h2>
      {offer && entry?.status === "offered" && (offer.status === "active" || offer.status === "checkout") ? (
        <div class="notice notice-success" role="status">
          <p>
            <strong>{t.waitlist.offer(offer.seat_ids.length, money(offer.price_cents, offer.currency))}</strong>
          </p>
          <Countdown deadlineMs={offer.expires_at_ms} label={t.waitlist.offerExpiresIn} onEnd={read} />
          <div class="actions">
            <button type="button" class="primary" onClick={() => onOffer(offer)} disabled={busy}>
              {t.waitlist.takeOffer}
            </button>
            <button type="button" class="link-button" onClick={leave} disabled={busy}>
              {t.waitlist.declineOffer}
            </button>
          </div>
        </div>
      ) : entry?.status === "waiting" ? (
        <div>
          <p role="status">
            {entry.position ? t.waitlist.position(entry.position, entry.quantity) : t.waitlist.waiting(entry.quantity)}
          </p>
          <p class="muted">{t.waitlist.howItWorks}</p>
          <button type="button" class="link-button" onClick={leave} disabled={busy}>
            {t.waitlist.leave}
          </button>
        </div>
      ) : (
        <form onSubmit={join}>
          <p>{entry?.status === "lapsed" ? t.waitlist.lapsed : t.waitlist.soldOut}</p>
          <p class="muted">{t.waitlist.howItWorks}</p>
          <div class="field">
            <label for="waitlist-quantity">{t.waitlist.quantity}</label>
            <select
              id="waitlist-quantity"
              value={quantity}
              onChange={(e) => setQuantity(Number((e.currentTarget as HTMLSelectElement).value))}
            >
              {Array.from({ length: show.ticket_limit }, (_, i) => i + 1).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="primary" disabled={busy}>
            {t.waitlist.join}
          </button>
        </form>
      )}
      {error !== null && <ProblemMessage error={error} />}
    </section>
  );
}
