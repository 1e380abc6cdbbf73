import { signal } from "@preact/signals";

// One polite and one assertive live region for the whole app (rendered by the layout), so a
// message is announced once, whatever page raised it. Assertive is kept for what the fan must
// act on now (their turn in line, seats lost, time running out).

export const politeMessage = signal("");
export const assertiveMessage = signal("");

export function announce(text: string, { assertive = false } = {}) {
  const target = assertive ? assertiveMessage : politeMessage;
  // Clearing first makes a repeated message be announced again.
  target.value = "";
  setTimeout(() => {
    target.value = text;
  }, 50);
}
