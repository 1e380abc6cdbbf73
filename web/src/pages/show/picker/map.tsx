import Panzoom, { type PanzoomObject } from "@panzoom/panzoom";
import { useEffect, useRef } from "preact/hooks";
import type { Geometry, SeatAvailability, SectionAvailability, Show } from "../../../api/types";
import { money, t } from "../../../i18n";
import {
  boundsOf,
  type Filters,
  seatMatches,
  seatPitch,
  sectionMatches,
  sectionTier,
  tierColour,
  venueBounds,
} from "./model";

/**
 * The seat map in SVG, drawn from Onsale's own geometry. Sections are shapes coloured by their
 * price tier and labelled with what is left; individual seats are drawn only for the section
 * the fan zoomed into, so a 60,000-seat stadium is a few dozen shapes until then.
 * Pan and pinch come from @panzoom/panzoom; "zoom into a section" is a change of viewBox.
 * Seats are for pointer users; keyboard and screen-reader users pick from the list, which
 * offers the same seats (the sections here are buttons that also open it in the map).
 */
export function SeatMap({
  show,
  geometry,
  sections,
  focus,
  seats,
  selected,
  filters,
  onFocus,
  onToggle,
  seatMode,
}: {
  show: Show;
  geometry: Geometry;
  sections: Map<string, SectionAvailability>;
  focus: string | null;
  seats: Map<string, SeatAvailability>;
  selected: Set<string>;
  filters: Filters;
  onFocus: (sectionId: string | null) => void;
  onToggle: (seat: SeatAvailability) => void;
  /** The organizer console's mode: which seats a click may choose and a class for each (blocked). */
  seatMode?: SeatMode;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const panzoom = useRef<PanzoomObject | null>(null);
  const down = useRef<{ x: number; y: number } | null>(null);

  useEffect(() => {
    const element = svg.current!;
    const instance = Panzoom(element as unknown as HTMLElement, { maxScale: 6, minScale: 1, contain: "outside" });
    panzoom.current = instance;
    const parent = element.parentElement!;
    const wheel = (event: WheelEvent) => instance.zoomWithWheel(event);
    parent.addEventListener("wheel", wheel, { passive: false });
    return () => {
      parent.removeEventListener("wheel", wheel);
      instance.destroy();
    };
  }, []);
  useEffect(() => {
    panzoom.current?.reset({ animate: false });
  }, [focus]);

  const focused = focus ? geometry.sections.find((s) => s.id === focus) : undefined;
  const box = focused ? boundsOf(focused.shape.points, seatPitch(focused)) : venueBounds(geometry);
  // A drag that ends on a shape is a pan, not a click.
  const isClick = (event: MouseEvent) =>
    !down.current || Math.hypot(event.clientX - down.current.x, event.clientY - down.current.y) < 6;

  return (
    <div class="map-wrap">
      <div class="map-toolbar">
        <p class="muted" id="map-hint">
          {t.picker.mapHint}
        </p>
        {focus && (
          <button type="button" onClick={() => onFocus(null)}>
            {t.picker.zoomOut}
          </button>
        )}
      </div>
      <div
        class="map-viewport"
        onPointerDownCapture={(event) => {
          down.current = { x: event.clientX, y: event.clientY };
        }}
      >
        {/* biome-ignore lint/a11y/useSemanticElements: an SVG cannot be a <fieldset>; the group names the map */}
        <svg
          ref={svg}
          class="seat-map"
          viewBox={`${box.x} ${box.y} ${box.width} ${box.height}`}
          role="group"
          aria-label={t.picker.mapLabel(show.venue.name)}
          aria-describedby="map-hint"
        >
          <defs>
            <pattern id="sold-out" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
              <rect width="8" height="8" fill="#e4e4e7" />
              <line x1="0" y1="0" x2="0" y2="8" stroke="#a1a1aa" stroke-width="3" />
            </pattern>
          </defs>
          {geometry.stage && (
            // biome-ignore lint/a11y/noAriaHiddenOnFocusable: an SVG <g> without tabindex is not focusable
            <g aria-hidden="true">
              <polygon class="stage" points={geometry.stage.points.map((p) => p.join(",")).join(" ")} />
              <text class="stage-label" {...centre(geometry.stage.points)}>
                {t.picker.stage}
              </text>
            </g>
          )}
          {geometry.sections.map((section) => {
            const availability = sections.get(section.id);
            const available = availability?.available ?? 0;
            const minPrice = availability?.min_price_cents ?? null;
            const matches = sectionMatches(section, minPrice, filters);
            const colour = tierColour(show, sectionTier(show, section.id)?.tier_id);
            const leftText = available === 0 ? t.picker.soldOut : t.picker.left(available);
            const label = t.picker.mapSectionLabel(
              section.name,
              leftText,
              minPrice === null ? null : money(minPrice, show.currency),
            );
            const points = section.shape.points.map((p) => p.join(",")).join(" ");
            const isFocus = section.id === focus;
            const b = boundsOf(section.shape.points);
            const fontSize = Math.max(6, Math.min(b.width, b.height) / 9);
            return (
              // biome-ignore lint/a11y/noStaticElementInteractions: SVG has no <button>; role, tabindex and keys make the shape one
              <g
                key={section.id}
                class={`section${matches ? "" : " section-filtered"}${isFocus ? " section-focus" : ""}`}
                role={isFocus ? undefined : "button"}
                tabIndex={isFocus ? undefined : 0}
                aria-label={isFocus ? undefined : label}
                data-section={section.id}
                onClick={(event) => {
                  if (!isFocus && isClick(event)) onFocus(section.id);
                }}
                onKeyDown={(event) => {
                  if (!isFocus && (event.key === "Enter" || event.key === " ")) {
                    event.preventDefault();
                    onFocus(section.id);
                  }
                }}
              >
                <polygon
                  points={points}
                  fill={available === 0 ? "url(#sold-out)" : colour.tint}
                  stroke={available === 0 ? "#71717a" : colour.strong}
                />
                {!isFocus && (
                  // biome-ignore lint/a11y/noAriaHiddenOnFocusable: SVG text is not focusable; the section's name says it
                  <text {...centre(section.shape.points)} font-size={fontSize} aria-hidden="true">
                    <tspan x={b.x + b.width / 2} dy="-0.3em">
                      {section.name}
                    </tspan>{" "}
                    <tspan x={b.x + b.width / 2} dy="1.3em">
                      {leftText}
                    </tspan>
                  </text>
                )}
                {isFocus && (
                  <Seats
                    show={show}
                    section={section}
                    seats={seats}
                    selected={selected}
                    filters={filters}
                    seatMode={seatMode}
                    onToggle={(seat, event) => isClick(event) && onToggle(seat)}
                  />
                )}
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}

function Seats({
  show,
  section,
  seats,
  selected,
  filters,
  seatMode,
  onToggle,
}: {
  show: Show;
  section: Geometry["sections"][number];
  seats: Map<string, SeatAvailability>;
  selected: Set<string>;
  filters: Filters;
  seatMode?: SeatMode;
  onToggle: (seat: SeatAvailability, event: MouseEvent) => void;
}) {
  const r = seatPitch(section) * 0.4;
  return (
    // biome-ignore lint/a11y/noAriaHiddenOnFocusable: seats are for pointers; the list offers each of them to keyboards
    <g aria-hidden="true">
      {section.rows.map((row) => {
        const first = row.seats[0];
        return first ? (
          <text
            key={`row-${row.label}`}
            class="row-label"
            x={first.x - 2.2 * r}
            y={first.y}
            font-size={r * 1.6}
            text-anchor="end"
            dominant-baseline="middle"
          >
            {row.label}
          </text>
        ) : null;
      })}
      {section.rows.flatMap((row) =>
        row.seats.map((geo) => {
          const seat = seats.get(geo.id);
          const isSelected = selected.has(geo.id);
          const mode = seat && seatMode ? seatMode(seat) : null;
          const pickable = mode ? mode.pickable : seat ? seatMatches(seat, filters) : false;
          const available = seat?.status === "available";
          const colour = tierColour(show, seat?.tier_id);
          const fill = isSelected ? "#111827" : !available ? "#d4d4d8" : pickable ? colour.strong : "#a1a1aa";
          const className = `seat${isSelected ? " seat-selected" : ""}${pickable || isSelected ? " seat-pickable" : ""}${mode?.className ? ` ${mode.className}` : ""}`;
          const onClick = (event: MouseEvent) => {
            if (seat && (pickable || isSelected)) onToggle(seat, event);
          };
          // Accessible seats are squares: the difference is a shape, not only a colour.
          return geo.accessible ? (
            // biome-ignore lint/a11y/noStaticElementInteractions: pointer shortcut; the list is the keyboard path
            <rect
              key={geo.id}
              class={className}
              data-seat={geo.id}
              x={geo.x - r}
              y={geo.y - r}
              width={2 * r}
              height={2 * r}
              fill={fill}
              onClick={onClick}
            />
          ) : (
            // biome-ignore lint/a11y/noStaticElementInteractions: pointer shortcut; the list is the keyboard path
            <circle
              key={geo.id}
              class={className}
              data-seat={geo.id}
              cx={geo.x}
              cy={geo.y}
              r={r}
              fill={fill}
              onClick={onClick}
            />
          );
        }),
      )}
    </g>
  );
}

export type SeatMode = (seat: SeatAvailability) => { pickable: boolean; className?: string };

function centre(points: [number, number][]) {
  const b = boundsOf(points);
  return { x: b.x + b.width / 2, y: b.y + b.height / 2, "text-anchor": "middle", "dominant-baseline": "middle" };
}
