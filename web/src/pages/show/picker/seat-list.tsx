import type { Geometry, SeatAvailability, SectionAvailability, Show } from "../../../api/types";
import { Loading } from "../../../components/problem";
import { money, t } from "../../../i18n";
import { type Filters, seatMatches, seatPick, sectionMatches } from "./model";

/**
 * The keyboard and screen-reader way to pick: section → row → seat with native controls,
 * offering only seats that can be picked under the filters, each labelled in full
 * ("Section Floor Left, row 3, seat 7, €145").
 */
export function SeatList({
  show,
  geometry,
  sections,
  focus,
  row,
  seats,
  selected,
  limitReached,
  filters,
  onFocus,
  onRow,
  onToggle,
}: {
  show: Show;
  geometry: Geometry;
  sections: Map<string, SectionAvailability>;
  focus: string | null;
  row: string | null;
  seats: Map<string, SeatAvailability>;
  selected: Set<string>;
  limitReached: boolean;
  filters: Filters;
  onFocus: (sectionId: string | null) => void;
  onRow: (row: string | null) => void;
  onToggle: (seat: SeatAvailability) => void;
}) {
  const choices = geometry.sections.filter((section) => {
    const a = sections.get(section.id);
    return a && a.available > 0 && section.rows.length > 0 && sectionMatches(section, a.min_price_cents, filters);
  });
  const section = focus ? geometry.sections.find((s) => s.id === focus) : undefined;
  const rows = (section?.rows ?? [])
    .map((r) => ({
      label: r.label,
      seats: r.seats.flatMap((geo) => {
        const seat = seats.get(geo.id);
        return seat && (seatMatches(seat, filters) || selected.has(seat.seat_id)) ? [seat] : [];
      }),
    }))
    .filter((r) => r.seats.length > 0);
  const current = rows.find((r) => r.label === row);

  return (
    <div class="seat-list">
      <div class="field">
        <label for="list-section">{t.picker.listSection}</label>
        <select
          id="list-section"
          value={focus ?? ""}
          onChange={(event) => onFocus((event.currentTarget as HTMLSelectElement).value || null)}
        >
          <option value="">{t.picker.chooseSection}</option>
          {choices.map((s) => {
            const a = sections.get(s.id)!;
            return (
              <option key={s.id} value={s.id}>
                {t.picker.sectionLabel(
                  s.name,
                  a.available,
                  a.min_price_cents === null ? null : money(a.min_price_cents, show.currency),
                )}
              </option>
            );
          })}
        </select>
      </div>
      {section && seats.size === 0 && <Loading />}
      {section && seats.size > 0 && rows.length > 0 && (
        <div class="field">
          <label for="list-row">{t.picker.listRow}</label>
          <select
            id="list-row"
            value={current?.label ?? ""}
            onChange={(event) => onRow((event.currentTarget as HTMLSelectElement).value || null)}
          >
            <option value="">{t.picker.chooseRow}</option>
            {rows.map((r) => (
              <option key={r.label} value={r.label}>
                {`${t.picker.listRow} ${r.label} (${t.picker.left(r.seats.length)})`}
              </option>
            ))}
          </select>
        </div>
      )}
      {section && seats.size > 0 && rows.length === 0 && <p>{t.picker.noSeatsHere}</p>}
      {current && (
        <fieldset class="seat-checkboxes">
          <legend>{t.picker.listSeats(current.label)}</legend>
          {current.seats.map((seat) => {
            const pick = seatPick(geometry, seat, show.currency);
            const checked = selected.has(seat.seat_id);
            return (
              <div class="check" key={seat.seat_id}>
                <input
                  type="checkbox"
                  id={`pick-${seat.seat_id}`}
                  checked={checked}
                  disabled={!checked && limitReached}
                  onChange={() => onToggle(seat)}
                />
                <label for={`pick-${seat.seat_id}`}>{pick.label}</label>
              </div>
            );
          })}
        </fieldset>
      )}
    </div>
  );
}
