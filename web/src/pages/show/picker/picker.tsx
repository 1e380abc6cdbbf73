import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiProblem, api } from "../../../api/client";
import type { Geometry, Hold, SeatAvailability, SeatMapOverlay } from "../../../api/types";
import { announce } from "../../../components/announcer";
import { Countdown } from "../../../components/countdown";
import { Loading, ProblemMessage, problemText } from "../../../components/problem";
import { clockTime, money, t } from "../../../i18n";
import { serverNow } from "../../../lib/server-clock";
import { newKey } from "../../../lib/storage";
import { type CheckoutState, saveCheckout } from "../checkout-store";
import { liveAdmission, loadPlace } from "../queue-store";
import type { StepProps } from "../steps";
import { WaitlistPanel } from "../waitlist";
import { knownWaitlists } from "../waitlist-store";
import { BestAvailable } from "./best-available";
import { type LiveMessage, useLiveSeatMap } from "./live";
import { SeatMap } from "./map";
import { type Filters, type SeatPick, seatPick, seatPlace, sectionTier, tierColour } from "./model";
import { SeatList } from "./seat-list";

/**
 * The overlay is cached about a second at the edge and is only a hint (the hold is the real
 * check); refreshing every few seconds keeps colours honest without a crowd of requests.
 */
const REFRESH_MS = 4_000;
/** While the live feed is open it brings every change; a slow reload is only a safety net. */
const LIVE_REFRESH_MS = 30_000;

export function Picker({ show, fan, onHeld, onAdmissionLost }: StepProps) {
  const [geometry, setGeometry] = useState<Geometry | null>(null);
  const [overlay, setOverlay] = useState<SeatMapOverlay | null>(null);
  const [sectionSeats, setSectionSeats] = useState<SeatMapOverlay | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [view, setView] = useState<"map" | "list">("map");
  const [focus, setFocus] = useState<string | null>(null);
  const [row, setRow] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>({ maxPriceCents: null, accessibleOnly: false });
  const [selected, setSelected] = useState<Map<string, SeatPick>>(new Map());
  const [busy, setBusy] = useState(false);
  const [holdError, setHoldError] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const intent = useRef<{ body: string; key: string } | null>(null);

  // The live feed patches the last overlay and section seats with each change (absolute states).
  const live = useLiveSeatMap(show.show_id, focus, (message: LiveMessage) => {
    const counts = new Map(message.sections.map((s) => [s.section_id, s.available]));
    setOverlay(
      (current) =>
        current && {
          ...current,
          ...(message.inventory ? { inventory: message.inventory } : {}),
          sections: current.sections.map((s) =>
            counts.has(s.section_id) ? { ...s, available: counts.get(s.section_id)! } : s,
          ),
        },
    );
    const states = message.seats;
    if (states) {
      setSectionSeats(
        (current) =>
          current && {
            ...current,
            seats: current.seats?.map((seat) =>
              states[seat.seat_id] ? { ...seat, status: states[seat.seat_id]! } : seat,
            ),
          },
      );
    }
  });

  const admission = show.waiting_room?.enabled ? liveAdmission(loadPlace(fan.fan_id, show.show_id), serverNow()) : null;

  useEffect(() => {
    const controller = new AbortController();
    api<SeatMapOverlay>(`/v1/shows/${show.show_id}/seat-map`, { signal: controller.signal })
      .then(async (fresh) => {
        setOverlay(fresh);
        if (!geometry) setGeometry(await api<Geometry>(fresh.geometry.geometry_url, { signal: controller.signal }));
      })
      .catch((error) => !controller.signal.aborted && !overlay && setLoadError(error));
    if (focus) {
      api<SeatMapOverlay>(`/v1/shows/${show.show_id}/seat-map?section=${encodeURIComponent(focus)}`, {
        signal: controller.signal,
      })
        .then(setSectionSeats)
        .catch(() => {});
    }
    const timer = setTimeout(
      () => {
        if (document.visibilityState === "visible") setRefresh((n) => n + 1);
        else document.addEventListener("visibilitychange", () => setRefresh((n) => n + 1), { once: true });
      },
      live.open ? LIVE_REFRESH_MS : REFRESH_MS,
    );
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [show.show_id, focus, refresh]);

  const sections = useMemo(() => new Map((overlay?.sections ?? []).map((s) => [s.section_id, s])), [overlay]);
  const seats = useMemo(() => {
    const inFocus = sectionSeats?.seats?.filter((seat) => seat.seat_id.startsWith(`${focus}-`)) ?? [];
    return new Map(inFocus.map((seat) => [seat.seat_id, seat]));
  }, [sectionSeats, focus]);
  // A seat the fan chose that the fresh overlay shows taken leaves the selection, and they are told.
  useEffect(() => {
    const taken = [...selected.values()].filter((pick) => seats.get(pick.seat_id)?.status === "unavailable");
    if (taken.length === 0) return;
    const next = new Map(selected);
    for (const pick of taken) next.delete(pick.seat_id);
    setSelected(next);
    setHoldError(t.picker.taken(taken.map((pick) => pick.short).join(", ")));
  }, [seats]);
  const selectedIds = useMemo(() => new Set(selected.keys()), [selected]);
  const limitReached = selected.size >= show.ticket_limit;
  const prices = useMemo(
    () => [...new Set(show.price_tiers.map((tier) => tier.price_cents))].sort((a, b) => a - b),
    [show],
  );

  const changeFocus = (sectionId: string | null) => {
    if (sectionId !== focus) setSectionSeats(null);
    setFocus(sectionId);
    setRow(null);
  };

  const toggle = (seat: SeatAvailability) => {
    if (!geometry) return;
    const next = new Map(selected);
    if (next.has(seat.seat_id)) next.delete(seat.seat_id);
    else if (!limitReached) next.set(seat.seat_id, seatPick(geometry, seat, show.currency));
    else {
      announce(t.picker.limit(show.ticket_limit));
      return;
    }
    setSelected(next);
  };

  const hold = async (body: { seat_ids: string[] } | { section_id: string; quantity: number; accessible: boolean }) => {
    if (!geometry) return;
    if (show.waiting_room?.enabled && !liveAdmission(loadPlace(fan.fan_id, show.show_id), serverNow())) {
      return onAdmissionLost();
    }
    // One Idempotency-Key per intent: pressing Hold again after a lost answer replays it.
    const bodyText = JSON.stringify(body);
    if (intent.current?.body !== bodyText) intent.current = { body: bodyText, key: newKey() };
    setBusy(true);
    setHoldError(null);
    announce(t.picker.holding);
    try {
      const held = await api<Hold>(`/v1/shows/${show.show_id}/holds`, {
        method: "POST",
        auth: true,
        body,
        idempotencyKey: intent.current.key,
        headers: admission ? { "admission-token": admission.token } : {},
      });
      intent.current = null;
      const picks: CheckoutState["seats"] = {};
      for (const seatId of held.seat_ids) {
        const known =
          selected.get(seatId) ?? (seats.get(seatId) && seatPick(geometry, seats.get(seatId)!, show.currency));
        const place = seatPlace(geometry, seatId);
        picks[seatId] = known
          ? { label: known.label, price_cents: known.price_cents }
          : {
              label: t.picker.seatShort(place.sectionName, place.row, place.number),
              price_cents: sectionTier(show, place.sectionId)?.price_cents ?? 0,
            };
      }
      const state: CheckoutState = { hold: held, order: null, seats: picks };
      saveCheckout(fan.fan_id, show.show_id, state);
      onHeld(state);
    } catch (error) {
      if (!(error instanceof ApiProblem) || error.code !== "network") intent.current = null;
      if (error instanceof ApiProblem && error.code === "seats_unavailable") {
        const lost = (error.body.seat_ids as string[] | undefined) ?? [];
        const next = new Map(selected);
        for (const id of lost) next.delete(id);
        setSelected(next);
        setHoldError(t.picker.lost(lost.map((id) => selected.get(id)?.short ?? id).join(", ")));
        setRefresh((n) => n + 1);
      } else if (error instanceof ApiProblem && error.code === "insufficient_availability") {
        setHoldError(t.picker.notEnough);
      } else if (error instanceof ApiProblem && error.code.startsWith("admission_")) {
        setHoldError(t.picker.admissionExpired);
        onAdmissionLost();
      } else setHoldError(problemText(error));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (holdError) announce(holdError, { assertive: true });
  }, [holdError]);

  if (loadError && !overlay) return <ProblemMessage error={loadError} onRetry={() => setRefresh((n) => n + 1)} />;
  if (!overlay || !geometry) return <Loading />;
  const total = [...selected.values()].reduce((sum, pick) => sum + pick.price_cents, 0);
  // Sold out means nothing can come back but refunds: held seats may still reach the line.
  const soldOut = overlay.inventory
    ? overlay.inventory === "sold_out"
    : overlay.sections.every((section) => section.available === 0);

  /** A waitlist offer is a hold the API made for the fan: it goes to checkout like any other. */
  const takeOffer = (offered: Hold) => {
    const picks: CheckoutState["seats"] = {};
    for (const seatId of offered.seat_ids) {
      const place = seatPlace(geometry, seatId);
      picks[seatId] = {
        label: t.picker.seatShort(place.sectionName, place.row, place.number),
        price_cents: sectionTier(show, place.sectionId)?.price_cents ?? 0,
      };
    }
    const state: CheckoutState = { hold: offered, order: null, seats: picks };
    saveCheckout(fan.fan_id, show.show_id, state);
    onHeld(state);
  };

  return (
    <section class="picker" aria-labelledby="picker-heading">
      <div class="picker-top">
        <h2 id="picker-heading">{t.picker.title}</h2>
        {admission && (
          <Countdown deadlineMs={admission.expiresAtMs} label={t.picker.windowLeft} onEnd={onAdmissionLost} />
        )}
      </div>
      {(soldOut || knownWaitlists(fan.fan_id).some((known) => known.show_id === show.show_id)) && (
        <WaitlistPanel show={show} fan={fan} soldOut={soldOut} onOffer={takeOffer} />
      )}
      <div class="picker-layout">
        <div class="picker-main">
          <fieldset class="view-switch">
            <legend class="sr-only">{t.picker.viewLabel}</legend>
            <button type="button" aria-pressed={view === "map"} onClick={() => setView("map")}>
              {t.picker.mapTab}
            </button>
            <button type="button" aria-pressed={view === "list"} onClick={() => setView("list")}>
              {t.picker.listTab}
            </button>
          </fieldset>
          {view === "map" ? (
            <SeatMap
              show={show}
              geometry={geometry}
              sections={sections}
              focus={focus}
              seats={seats}
              selected={selectedIds}
              filters={filters}
              onFocus={changeFocus}
              onToggle={toggle}
            />
          ) : (
            <SeatList
              show={show}
              geometry={geometry}
              sections={sections}
              focus={focus}
              row={row}
              seats={seats}
              selected={selectedIds}
              limitReached={limitReached}
              filters={filters}
              onFocus={changeFocus}
              onRow={setRow}
              onToggle={toggle}
            />
          )}
          <p class="muted small">{t.picker.asOf(clockTime(overlay.as_of_ms))}</p>
        </div>

        <aside class="picker-side">
          <section class="selection" aria-labelledby="selection-heading">
            <h3 id="selection-heading">{t.picker.selection}</h3>
            {selected.size === 0 ? (
              <p class="muted">{t.picker.selectionEmpty}</p>
            ) : (
              <ul class="selection-list">
                {[...selected.values()].map((pick) => (
                  <li key={pick.seat_id}>
                    <span>{pick.short}</span>
                    <span>{money(pick.price_cents, show.currency)}</span>
                    <button
                      type="button"
                      class="icon-button"
                      aria-label={t.picker.remove(pick.label)}
                      onClick={() => {
                        const next = new Map(selected);
                        next.delete(pick.seat_id);
                        setSelected(next);
                      }}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <p class="muted small">{t.picker.limit(show.ticket_limit)}</p>
            {selected.size > 0 && (
              <p class="total">
                <span>{t.picker.total}</span> <strong>{money(total, show.currency)}</strong>
              </p>
            )}
            {holdError && (
              <p class="notice notice-error" role="alert">
                {holdError}
              </p>
            )}
            <button
              type="button"
              class="primary large"
              disabled={selected.size === 0 || busy}
              onClick={() => hold({ seat_ids: [...selected.keys()] })}
            >
              {busy ? t.picker.holding : selected.size === 0 ? t.picker.holdNone : t.picker.hold(selected.size)}
            </button>
          </section>

          <fieldset class="filters-box">
            <legend>{t.picker.filters}</legend>
            <div class="field">
              <label for="max-price">{t.picker.maxPrice}</label>
              <select
                id="max-price"
                value={filters.maxPriceCents ?? ""}
                onChange={(e) => {
                  const value = (e.currentTarget as HTMLSelectElement).value;
                  setFilters({ ...filters, maxPriceCents: value ? Number(value) : null });
                }}
              >
                <option value="">{t.picker.anyPrice}</option>
                {prices.map((cents) => (
                  <option key={cents} value={cents}>
                    {t.picker.upTo(money(cents, show.currency))}
                  </option>
                ))}
              </select>
            </div>
            <div class="check">
              <input
                id="accessible-only"
                type="checkbox"
                checked={filters.accessibleOnly}
                onChange={(e) =>
                  setFilters({ ...filters, accessibleOnly: (e.currentTarget as HTMLInputElement).checked })
                }
              />
              <label for="accessible-only">{t.picker.accessibleOnly}</label>
            </div>
          </fieldset>

          <section class="legend" aria-labelledby="legend-heading">
            <h3 id="legend-heading">{t.picker.legend}</h3>
            <ul>
              {show.price_tiers.map((tier) => (
                <li key={tier.tier_id}>
                  <span
                    class="swatch"
                    style={{ background: tierColour(show, tier.tier_id).strong }}
                    aria-hidden="true"
                  />
                  {tier.name} · {money(tier.price_cents, tier.currency)}
                </li>
              ))}
              <li>
                <span class="swatch swatch-unavailable" aria-hidden="true" />
                {t.picker.unavailable}
              </li>
              <li>
                <span class="swatch swatch-selected" aria-hidden="true" />
                {t.picker.selected}
              </li>
              <li>
                <span class="swatch swatch-square" aria-hidden="true" />
                {t.picker.accessibleSeat}
              </li>
            </ul>
          </section>

          <BestAvailable show={show} geometry={geometry} sections={sections} busy={busy} onHold={hold} />
        </aside>
      </div>
    </section>
  );
}
