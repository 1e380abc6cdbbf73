import { useState } from "preact/hooks";
import type { Geometry, SectionAvailability, Show } from "../../../api/types";
import { t } from "../../../i18n";

/** "2 seats in Lower 101": the Show DO picks the best adjacent seats in one step. */
export function BestAvailable({
  show,
  geometry,
  sections,
  busy,
  onHold,
}: {
  show: Show;
  geometry: Geometry;
  sections: Map<string, SectionAvailability>;
  busy: boolean;
  onHold: (request: { section_id: string; quantity: number; accessible: boolean }) => void;
}) {
  // Standing areas have their own quantity form (general-admission.tsx): no "best seats" there.
  const open = geometry.sections.filter((s) => s.ga_capacity === undefined && (sections.get(s.id)?.available ?? 0) > 0);
  const [sectionId, setSectionId] = useState(open[0]?.id ?? "");
  const [quantity, setQuantity] = useState(Math.min(2, show.ticket_limit));
  const [accessible, setAccessible] = useState(false);
  const chosen = open.find((s) => s.id === sectionId) ?? open[0];
  if (!chosen) return null;
  return (
    <form
      class="best-available"
      aria-labelledby="best-heading"
      onSubmit={(event) => {
        event.preventDefault();
        onHold({ section_id: chosen.id, quantity, accessible });
      }}
    >
      <h3 id="best-heading">{t.picker.best}</h3>
      <div class="field-row">
        <div class="field">
          <label for="best-quantity">{t.picker.bestQuantity}</label>
          <select
            id="best-quantity"
            value={quantity}
            onChange={(e) => setQuantity(Number((e.currentTarget as HTMLSelectElement).value))}
          >
            {Array.from({ length: show.ticket_limit }, (_, i) => (
              <option key={i} value={i + 1}>
                {i + 1}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="best-section">{t.picker.bestSection}</label>
          <select
            id="best-section"
            value={chosen.id}
            onChange={(e) => setSectionId((e.currentTarget as HTMLSelectElement).value)}
          >
            {open.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="check">
        <input
          id="best-accessible"
          type="checkbox"
          checked={accessible}
          onChange={(e) => setAccessible((e.currentTarget as HTMLInputElement).checked)}
        />
        <label for="best-accessible">{t.picker.bestAccessible}</label>
      </div>
      <button type="submit" disabled={busy}>
        {t.picker.bestSubmit(quantity, chosen.name)}
      </button>
    </form>
  );
}
