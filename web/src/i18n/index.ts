import { en, type Messages } from "./en";

// One module per language; the app reads strings only through `t`. Adding a language means a
// file like en.ts and an entry here (loaded lazily once there are several).

export const t: Messages = en;

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** `€85`, or `€85.50` when there are cents. */
export function money(cents: number, currency: string): string {
  const whole = cents % 100 === 0;
  const key = `${currency}:${whole}`;
  let format = moneyFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(t.locale, {
      style: "currency",
      currency,
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: 2,
    });
    moneyFormats.set(key, format);
  }
  return format.format(cents / 100);
}

/** A show's date and time in the venue's own time zone, which is what the ticket says. */
export function showTime(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(t.locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
    timeZoneName: "short",
  }).format(new Date(iso));
}

export function clockTime(ms: number): string {
  return new Intl.DateTimeFormat(t.locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(ms);
}

/** `4:07`, or `1:02:09` past the hour: what a countdown shows. */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Spoken form of a countdown for assistive technology: "4 minutes 7 seconds". */
export function spokenDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const parts: string[] = [];
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) parts.push(t.units.hours(h));
  if (m) parts.push(t.units.minutes(m));
  if (s || parts.length === 0) parts.push(t.units.seconds(s));
  return parts.join(" ");
}
