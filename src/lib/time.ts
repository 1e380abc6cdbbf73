// Organizers think in the venue's local time; the database stores instants. These convert
// between the two with Intl alone (no tz database in the bundle): workerd ships full ICU.

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (positive east of Greenwich). */
function zoneOffsetMs(instant: number, timeZone: string): number {
  let format = offsetFormatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    offsetFormatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const local = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * An instant from an ISO-8601 string: with `Z` or an offset it is taken as is; without one
 * it is wall-clock time in `timeZone` (so "2026-12-31T20:00" at a Lisbon venue means 20:00
 * in Lisbon, whatever the DST). Null when the string is neither, or names no real time.
 */
export function parseZonedDateTime(value: string, timeZone: string): Date | null {
  if (withOffset.test(value)) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  const m = local.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number(part ?? 0)) as number[];
  const wallClock = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
  const check = new Date(wallClock);
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day! || hour! > 23) return null;
  // Two passes settle the offset across a DST change.
  let instant = wallClock - zoneOffsetMs(wallClock, timeZone);
  instant = wallClock - zoneOffsetMs(instant, timeZone);
  return new Date(instant);
}

/** `2026-12-31T20:00:00+00:00`-style local time of an instant in `timeZone`. */
export function formatZoned(instant: Date, timeZone: string): string {
  const offset = zoneOffsetMs(instant.getTime(), timeZone);
  const localTime = new Date(instant.getTime() + offset).toISOString().slice(0, 19);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset) / 60_000;
  return `${localTime}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

// Instants outside these ranges are refused as bad input: Postgres cannot store year 0 or
// negative years, `Date` stops at ±275,760 years, and a bare date as `to` adds a day.

/** What a search filter may name: wide, but inside what Postgres and `Date` both represent. */
export const SEARCH_RANGE = { from: "1900-01-01", to: "9000-01-01" } as const;
/** What an organizer may schedule (a show, its sale, its waiting room): this century. */
export const SCHEDULE_RANGE = { from: "2000-01-01", to: "2100-01-01" } as const;

export function isWithin(range: { from: string; to: string }, instant: Date | number | null): boolean {
  const ms = instant instanceof Date ? instant.getTime() : instant;
  return ms !== null && Number.isFinite(ms) && ms >= Date.parse(range.from) && ms < Date.parse(range.to);
}
