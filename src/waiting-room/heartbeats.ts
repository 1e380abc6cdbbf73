// Waiting fans must be seen every few minutes or their place is dropped (as Cloudflare Waiting
// Room does), but their polls are answered at the edge. So the edge collects who polled and
// tells the Show DO in one batched call per show, per isolate, about once a second: liveness
// costs the DO a call per second, not a call per poll.

const FLUSH_AFTER_MS = 1_000;
const pending = new Map<string, Map<string, string>>();

export function recordHeartbeat(
  env: Pick<Env, "SHOW">,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  showId: string,
  fanId: string,
  sessionId: string,
) {
  let sessions = pending.get(showId);
  if (!sessions) {
    sessions = new Map();
    pending.set(showId, sessions);
    ctx.waitUntil(flushLater(env, showId));
  }
  sessions.set(sessionId, fanId);
}

async function flushLater(env: Pick<Env, "SHOW">, showId: string) {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  const sessions = pending.get(showId);
  pending.delete(showId);
  if (!sessions?.size) return;
  try {
    await env.SHOW.getByName(showId).queueSeen([...sessions].map(([session_id, fan_id]) => ({ session_id, fan_id })));
  } catch (error) {
    // A lost batch only matters if it is the fan's last in five minutes; the next one follows in a second.
    console.warn("waiting-room heartbeats not delivered", error instanceof Error ? error.message : error);
  }
}
