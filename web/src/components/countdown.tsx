import { useEffect, useRef } from "preact/hooks";
import { countdown, spokenDuration } from "../i18n";
import { now, startClock } from "../lib/server-clock";

/**
 * Time left until `deadlineMs` (server clock). The visible digits tick every second; the
 * accessible name carries the spoken value, and `onEnd` fires once when time is up.
 */
export function Countdown({
  deadlineMs,
  label,
  onEnd,
  onMinuteLeft,
  urgentBelowMs = 60_000,
}: {
  deadlineMs: number;
  label: string;
  onEnd?: () => void;
  onMinuteLeft?: () => void;
  urgentBelowMs?: number;
}) {
  startClock();
  const left = Math.max(0, deadlineMs - now.value);
  const ended = useRef(false);
  const warned = useRef(false);
  useEffect(() => {
    if (left === 0 && !ended.current) {
      ended.current = true;
      onEnd?.();
    }
    if (left > 0 && left <= 60_000 && !warned.current) {
      warned.current = true;
      onMinuteLeft?.();
    }
  }, [left === 0, left <= 60_000]);
  return (
    <p class={`countdown${left < urgentBelowMs ? " countdown-urgent" : ""}`}>
      <span class="countdown-label">{label}</span>{" "}
      <span role="timer" aria-label={`${label} ${spokenDuration(left)}`} class="countdown-digits">
        {countdown(left)}
      </span>
    </p>
  );
}
