import { useEffect, useRef } from "preact/hooks";

// The live seat map (GET /v1/shows/{id}/seat-map/live): a WebSocket that brings every change of
// availability within about a second, so the picker greys a seat someone else just held
// without reloading the overlay. Messages carry absolute states, so they patch whatever the
// picker last loaded. A missed delta (its `prev` is beyond our `seq`) or a dropped socket (a
// deploy, an eviction) reconnects after a random 1–5 s with `since`.

export type LiveMessage = {
  type: "snapshot" | "delta";
  seq: number;
  prev?: number;
  inventory?: "available" | "all_held" | "sold_out";
  sections: { section_id: string; available: number }[];
  seats?: Record<string, "available" | "unavailable">;
};

/** Whether the feed is open, for the picker to poll less while it is. */
export type LiveStatus = { open: boolean };

export function useLiveSeatMap(
  showId: string,
  focus: string | null,
  onMessage: (message: LiveMessage) => void,
): LiveStatus {
  const status = useRef<LiveStatus>({ open: false });
  const socket = useRef<WebSocket | null>(null);
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const focusRef = useRef(focus);
  focusRef.current = focus;

  useEffect(() => {
    if (typeof WebSocket === "undefined") return;
    let seq: number | null = null;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const url = new URL(`/v1/shows/${showId}/seat-map/live`, location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const asked = focusRef.current;
      if (asked) url.searchParams.set("sections", asked);
      if (seq !== null) url.searchParams.set("since", String(seq));
      const ws = new WebSocket(url);
      socket.current = ws;
      ws.onopen = () => {
        status.current.open = true;
        // The focus moved while connecting: ask for the section now in view.
        if (focusRef.current !== asked) {
          ws.send(JSON.stringify({ type: "subscribe", sections: focusRef.current ? [focusRef.current] : [] }));
        }
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as LiveMessage;
        if (message.type === "delta" && seq !== null) {
          if (message.seq <= seq) return;
          if ((message.prev ?? 0) > seq) return ws.close(4000, "gap");
        }
        seq = message.seq;
        handler.current(message);
      };
      ws.onclose = () => {
        status.current.open = false;
        if (socket.current === ws) socket.current = null;
        if (!stopped) retry = setTimeout(connect, 1_000 + Math.random() * 4_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      socket.current?.close(1000, "leaving");
      status.current.open = false;
    };
  }, [showId]);

  // Another section in focus: ask for its seats on the open socket (a snapshot of them follows).
  useEffect(() => {
    const ws = socket.current;
    if (ws?.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "subscribe", sections: focus ? [focus] : [] }));
    }
  }, [focus]);

  return status.current;
}
