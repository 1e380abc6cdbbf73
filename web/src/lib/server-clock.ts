import { signal } from "@preact/signals";

// Countdowns are computed against the server's clock, never the device's: a phone whose clock
// is two minutes fast must not tell its fan that the seats are gone while they are still held.
// Every API answer that carries `server_time_ms` refines the offset; half the round trip is
// the best guess of when the server read its clock.

let offsetMs = 0;
let bestRoundTripMs = Number.POSITIVE_INFINITY;

export function observeServerTime(serverTimeMs: number, sentAtMs: number, receivedAtMs: number) {
  const roundTrip = receivedAtMs - sentAtMs;
  // The shortest round trip gives the tightest estimate; an old estimate decays so a device
  // clock that jumps (sleep, manual change) is caught up within a few answers.
  bestRoundTripMs = Math.min(bestRoundTripMs * 1.5, roundTrip);
  if (roundTrip <= bestRoundTripMs) offsetMs = serverTimeMs - (sentAtMs + roundTrip / 2);
}

export const serverNow = () => Date.now() + offsetMs;

/** The server's time, refreshed four times a second while anything on the page reads it. */
export const now = signal(serverNow());
let timer: ReturnType<typeof setInterval> | undefined;
export function startClock() {
  if (timer) return;
  timer = setInterval(() => {
    now.value = serverNow();
  }, 250);
}
