import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Geometry, SeatAvailability, SectionAvailability, Show } from "../../api/types";
import { ProblemMessage } from "../../components/problem";
import { to } from "../../i18n/organizer";
import { SeatMap, type SeatMode } from "../show/picker/map";
import type { BlockChange, OrganizerSeat } from "./types";

const REASONS = ["artist_hold", "accessibility_hold", "production_kill", "other"] as const;
const NO_FILTERS = { maxPriceCents: null, accessibleOnly: false };

/**
 * Block and unblock seats: the fan's seat map in an organizer mode (a click chooses an
 * available or a blocked seat; blocked seats are hollow), and for keyboards a list that walks
 * section → row → seats as checkboxes. Both share one choice; the reason goes with a block.
 */
export function SeatBlocks({
  show,
  geometry,
  sections,
  organizerKey,
  onChanged,
}: {
  show: Show;
  geometry: Geometry;
  sections: Map<string, SectionAvailability>;
  organizerKey: string;
  onChanged: () => void;
}) {
  const [focus, setFocus] = useState<string | null>(null);
  const [row, setRow] = useState<string>("");
  const [states, setStates] = useState<Map<string, OrganizerSeat>>(new Map());
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState<(typeof REASONS)[number]>("production_kill");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<string>("");
  const generation = useRef(0);

  const loadSection = async (sectionId: string) => {
    const mine = ++generation.current;
    try {
      const answer = await api<{ seats: OrganizerSeat[] }>(
        `/v1/admin/shows/${show.show_id}/seats?section=${encodeURIComponent(sectionId)}`,
        { organizerKey },
      );
      if (mine === generation.current) setStates(new Map(answer.seats.map((seat) => [seat.seat_id, seat])));
    } catch (caught) {
      if (mine === generation.current) setError(caught);
    }
  };

  useEffect(() => {
    setStates(new Map());
    if (focus) loadSection(focus);
  }, [focus]);

  // The map draws SeatAvailability; its organizer mode reads the true state beside it.
  const seats = useMemo(() => {
    const map = new Map<string, SeatAvailability>();
    for (const seat of states.values()) {
      map.set(seat.seat_id, {
        seat_id: seat.seat_id,
        status: seat.status === "available" ? "available" : "unavailable",
        tier_id: seat.tier_id,
        price_cents: seat.price_cents,
        accessible: seat.accessible,
      });
    }
    return map;
  }, [states]);
  const seatMode: SeatMode = (seat) => {
    const status = states.get(seat.seat_id)?.status;
    return {
      pickable: status === "available" || status === "blocked",
      className: status === "blocked" ? "seat-blocked" : undefined,
    };
  };

  const toggle = (seatId: string) =>
    setChosen((current) => {
      const next = new Set(current);
      if (next.has(seatId)) next.delete(seatId);
      else next.add(seatId);
      return next;
    });

  const focused = geometry.sections.find((s) => s.id === focus);
  const rowSeats = focused?.rows.find((r) => r.label === row)?.seats ?? [];

  const change = async (action: "block" | "unblock") => {
    const seatIds = [...chosen];
    if (seatIds.length === 0) return;
    setBusy(true);
    setError(null);
    setOutcome("");
    try {
      const result = await api<BlockChange>(`/v1/admin/shows/${show.show_id}/seats/${action}`, {
        method: "POST",
        organizerKey,
        body: action === "block" ? { seat_ids: seatIds, reason } : { seat_ids: seatIds },
      });
      const message =
        action === "block"
          ? to.blockedDone(result.changed.length, result.unchanged.length)
          : to.unblockedDone(result.changed.length, result.unchanged.length);
      setOutcome(message);
      setChosen(new Set());
      if (focus) await loadSection(focus);
      onChanged();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const label = (seatId: string) => {
    const [sectionId = "", rowLabel = "", number = ""] = seatId.split("-");
    const name = geometry.sections.find((s) => s.id === sectionId)?.name ?? sectionId;
    return `${name} · ${to.seatOption(rowLabel, number, to.seatState[states.get(seatId)?.status ?? ""] ?? "")}`;
  };

  return (
    <section aria-labelledby="seats-heading" class="console-seats">
      <h2 id="seats-heading">{to.seats}</h2>
      <p class="muted">{to.seatsHint}</p>
      <div class="console-seats-grid">
        <SeatMap
          show={show}
          geometry={geometry}
          sections={sections}
          focus={focus}
          seats={seats}
          selected={chosen}
          filters={NO_FILTERS}
          seatMode={seatMode}
          onFocus={(sectionId) => {
            setFocus(sectionId);
            setRow("");
          }}
          onToggle={(seat) => toggle(seat.seat_id)}
        />
        <div class="console-seats-side">
          <fieldset>
            <legend>{to.seats}</legend>
            <div class="field">
              <label for="block-section">{to.seatSection}</label>
              <select
                id="block-section"
                value={focus ?? ""}
                onChange={(event) => {
                  const value = (event.currentTarget as HTMLSelectElement).value;
                  setFocus(value || null);
                  setRow("");
                }}
              >
                <option value="">{to.chooseSection}</option>
                {geometry.sections.map((section) => (
                  <option key={section.id} value={section.id}>
                    {section.name}
                  </option>
                ))}
              </select>
            </div>
            {focused && (
              <div class="field">
                <label for="block-row">{to.seatRow}</label>
                <select
                  id="block-row"
                  value={row}
                  onChange={(event) => setRow((event.currentTarget as HTMLSelectElement).value)}
                >
                  <option value="">{to.chooseRow}</option>
                  {focused.rows.map((r) => (
                    <option key={r.label} value={r.label}>
                      {r.label}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {focused && row && states.size > 0 && (
              <fieldset class="seat-checkboxes">
                <legend>{to.seatsInRow(row)}</legend>
                {rowSeats.map((geo) => {
                  const state = states.get(geo.id);
                  const selectable = state?.status === "available" || state?.status === "blocked";
                  const reasonText = state?.block_reason
                    ? ` (${to.reasons[state.block_reason] ?? state.block_reason})`
                    : "";
                  return (
                    <div class="check" key={geo.id}>
                      <input
                        id={`block-${geo.id}`}
                        type="checkbox"
                        checked={chosen.has(geo.id)}
                        disabled={!selectable}
                        onChange={() => toggle(geo.id)}
                      />
                      <label for={`block-${geo.id}`}>
                        {to.seatOption(row, geo.number, to.seatState[state?.status ?? ""] ?? "")}
                        {reasonText}
                      </label>
                    </div>
                  );
                })}
              </fieldset>
            )}
          </fieldset>

          <div class="selection" data-testid="block-selection">
            <p>
              <strong>{chosen.size ? to.chosen(chosen.size) : to.noneChosen}</strong>
            </p>
            {chosen.size > 0 && (
              <ul class="small">
                {[...chosen].map((seatId) => (
                  <li key={seatId}>{label(seatId)}</li>
                ))}
              </ul>
            )}
            <div class="field">
              <label for="block-reason">{to.reason}</label>
              <select
                id="block-reason"
                value={reason}
                onChange={(event) =>
                  setReason((event.currentTarget as HTMLSelectElement).value as (typeof REASONS)[number])
                }
              >
                {REASONS.map((value) => (
                  <option key={value} value={value}>
                    {to.reasons[value]}
                  </option>
                ))}
              </select>
            </div>
            <div class="button-row">
              <button
                type="button"
                class="primary"
                disabled={busy || chosen.size === 0}
                onClick={() => change("block")}
              >
                {to.block(chosen.size)}
              </button>
              <button type="button" disabled={busy || chosen.size === 0} onClick={() => change("unblock")}>
                {to.unblock(chosen.size)}
              </button>
              {chosen.size > 0 && (
                <button type="button" class="link-button" onClick={() => setChosen(new Set())}>
                  {to.clear}
                </button>
              )}
            </div>
            <p role="status" class="small">
              {outcome}
            </p>
            {error !== null && <ProblemMessage error={error} />}
          </div>
        </div>
      </div>
    </section>
  );
}
