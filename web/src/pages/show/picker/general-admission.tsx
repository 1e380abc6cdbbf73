import { useState } from "preact/hooks";
import type { GeometrySection, SectionAvailability, Show } from "../../../api/types";
import { money, t } from "../../../i18n";
import { sectionTier } from "./model";

/**
 * Standing areas (GA sections): no seats to pick, only how many tickets. One small form per
 * section: a labelled number field with − and + buttons (each a real button with its own name,
 * so keyboard and screen-reader users get the same control as pointer users), capped by the
 * fan's limit and what is left.
 */
export function GeneralAdmission({
  show,
  sections,
  availability,
  busy,
  onHold,
}: {
  show: Show;
  sections: GeometrySection[];
  availability: Map<string, SectionAvailability>;
  busy: boolean;
  onHold: (request: { section_id: string; quantity: number; accessible: boolean }) => void;
}) {
  if (sections.length === 0) return null;
  return (
    <section class="general-admission" aria-labelledby="ga-heading">
      <h3 id="ga-heading">{t.picker.ga}</h3>
      <p class="muted small">{t.picker.gaIntro}</p>
      {sections.map((section) => (
        <GaSection
          key={section.id}
          show={show}
          section={section}
          available={availability.get(section.id)?.available ?? 0}
          busy={busy}
          onHold={onHold}
        />
      ))}
    </section>
  );
}

function GaSection({
  show,
  section,
  available,
  busy,
  onHold,
}: {
  show: Show;
  section: GeometrySection;
  available: number;
  busy: boolean;
  onHold: (request: { section_id: string; quantity: number; accessible: boolean }) => void;
}) {
  const max = Math.max(1, Math.min(show.ticket_limit, available));
  const [wanted, setWanted] = useState(1);
  const quantity = Math.min(Math.max(1, wanted), max);
  const price = sectionTier(show, section.id)?.price_cents ?? 0;
  const inputId = `ga-quantity-${section.id}`;
  const soldOut = available === 0;
  return (
    <form
      class="ga-section"
      aria-labelledby={`ga-name-${section.id}`}
      onSubmit={(event) => {
        event.preventDefault();
        if (!soldOut) onHold({ section_id: section.id, quantity, accessible: false });
      }}
    >
      <h4 id={`ga-name-${section.id}`}>{section.name}</h4>
      <p class="muted small">{soldOut ? t.picker.soldOut : t.picker.gaLeft(available, money(price, show.currency))}</p>
      {!soldOut && (
        <div class="field">
          <label for={inputId}>{t.picker.gaQuantity(section.name)}</label>
          <div class="stepper">
            <button
              type="button"
              aria-label={t.picker.gaFewer(section.name)}
              aria-controls={inputId}
              disabled={quantity <= 1}
              onClick={() => setWanted(quantity - 1)}
            >
              −
            </button>
            <input
              id={inputId}
              type="number"
              inputMode="numeric"
              min={1}
              max={max}
              step={1}
              value={quantity}
              onInput={(e) => {
                const value = Number((e.currentTarget as HTMLInputElement).value);
                if (Number.isInteger(value)) setWanted(value);
              }}
            />
            <button
              type="button"
              aria-label={t.picker.gaMore(section.name)}
              aria-controls={inputId}
              disabled={quantity >= max}
              onClick={() => setWanted(quantity + 1)}
            >
              +
            </button>
          </div>
        </div>
      )}
      <button type="submit" class="primary" disabled={busy || soldOut}>
        {t.picker.gaSubmit(quantity, section.name)}
      </button>
    </form>
  );
}
