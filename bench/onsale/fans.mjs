// The flash crowd of `npm run bench:onsale`: every simulated fan is a coroutine here, and
// every step it takes is a real HTTP request to the Worker. Runs as a forked process of its
// own (its CPU is measured apart from the server's), driven by scripts/bench-onsale.mjs:
//
//   parent → { type: "flash", config } | { type: "race", config } | { type: "stop", reason }
//   child  → { type: "ready" } · { type: "progress", progress } · { type: "result", result }
//
// A fan's life: arrive (on a flash-crowd schedule) → join the waiting room → poll with its
// queue ticket, never sooner than poll_after_ms → admitted → look at the seat map (the shared
// SeatView) and hold seats with the admission token (explicit adjacent seats in a popular
// section, or best available; on 409 pick again) → abandon (the hold expires by the DO's
// alarm), or order → confirm with pm_card_visa or pm_card_chargeDeclined → read its order and
// tickets. What is simulated rather than measured is listed in bench/README.md.
//
// "Sold out" is taken from Onsale's answers only (a poll or a join answered `sold_out`, or the
// seat map's `inventory`), never from the parent's stop signal: each fan in line records when
// Onsale told it, and each admission its server time, for the "queue truth" line.
import { createClient, fanTokenSigner, rng, Samples, semaphore, sleep, weighted } from "./http.mjs";
import { runRace } from "./race.mjs";
import { SeatView, sectionPopularity } from "./seat-view.mjs";

const COUNTED_OUTCOMES = [
  "abandoned",
  "declined",
  "no_seats",
  "admission_expired",
  "admission_lapsed",
  "hold_expired_before_order",
  "failed_checkout",
  "join_failed",
  "lost_place",
  "checkout_stopped",
  "told_sold_out_in_line",
  "told_sold_out_at_join",
];

function claimsOf(jwt) {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
  } catch {
    return {};
  }
}

/** Arrival times (ms from the start): `frontShare` of the crowd in the first `frontWindow` of the window. */
function arrivalTimes(count, { seconds, frontShare, frontWindow }, random) {
  const times = new Float64Array(count);
  const windowMs = seconds * 1000;
  for (let i = 0; i < count; i++) {
    times[i] =
      random() < frontShare
        ? random() * frontWindow * windowMs
        : frontWindow * windowMs + random() * (1 - frontWindow) * windowMs;
  }
  return times.sort();
}

/** Fan requests recorded while the orchestrator's --chaos faults run (it switches this on and off). */
const chaosLog = { on: false, entries: [] };

export async function runFlashCrowd(config, { onProgress, stopSignal }) {
  const random = rng(config.seed);
  const client = createClient(config.url, { timeoutMs: config.requestTimeoutMs });
  const signToken = fanTokenSigner(config.token);
  const view = new SeatView(config.sections, sectionPopularity(config.sections.length));
  view.markTaken(config.blocked);
  const joinGate = semaphore(config.joinConcurrency);
  const pollGate = semaphore(config.pollConcurrency);
  const showId = config.showId;

  const latency = {
    join: new Samples(),
    poll: new Samples(),
    poll_waiting: new Samples(),
    poll_do: new Samples(),
    hold: new Samples(),
    order: new Samples(),
    confirm: new Samples(),
    tickets: new Samples(),
    overlay: new Samples(),
  };
  const statuses = {};
  const errors = {};
  const c = {
    arrived: 0,
    joined: 0,
    rejoined: 0,
    waiting: 0,
    admitted: 0,
    in_checkout: 0,
    holds: 0,
    seats_held: 0,
    hold_conflicts: 0,
    abandoned: 0,
    orders: 0,
    paid: 0,
    seats_paid: 0,
    declined: 0,
    ticketed: 0,
    ticket_seats: 0,
    tickets_missing: 0,
    no_seats: 0,
    admission_expired: 0,
    admission_lapsed: 0,
    hold_expired_before_order: 0,
    failed_checkout: 0,
    join_failed: 0,
    lost_place: 0,
    checkout_stopped: 0,
    abandon_skipped_near_bound: 0,
    told_sold_out: 0,
    told_sold_out_in_line: 0,
    told_sold_out_at_join: 0,
    still_waiting_at_end: 0,
    never_joined: 0,
    polls: 0,
    polls_waiting: 0,
    polls_do: 0,
    polls_do_admitted: 0,
    polls_429: 0,
    overlay_requests: 0,
    quantity_reduced: 0,
  };
  /** Every place in line: joined and left (admitted, told sold out, or the stop), client time. */
  const inLine = [];
  /** Server time of each admission (its token's expiry less the checkout window). */
  const admittedAtMs = [];
  /** When Onsale first said "sold out" to anyone (a poll, a join, the seat map). */
  let toldSoldOutAt = null;
  const holdsCreated = [];
  const abandonedHolds = [];
  const paidOrders = [];
  const pollIntervals = new Samples();
  /** How long a due poll waited for a free slot in the load generator (should be ~0). */
  const pollLateness = new Samples();

  const t0 = performance.now();
  const now = () => Date.now();
  let stopping = false;
  let stopReason = null;
  let soldOut = false;
  let arrivalsDone = false;
  let graceUntil = Number.POSITIVE_INFINITY;
  const active = new Set();

  function record(op, response) {
    const key = `${op} ${response.status}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (response.status === 0 || response.status >= 400) {
      const code = response.status === 0 ? `network: ${String(response.error).slice(0, 60)}` : response.body?.code;
      const errorKey = `${op} ${response.status} ${code ?? "?"}`;
      errors[errorKey] = (errors[errorKey] ?? 0) + 1;
    }
  }

  async function call(op, method, path, options) {
    const response = await client.request(method, path, options);
    // --chaos: every fan request around the injected faults, as [op, started at (wall ms), ms, status].
    if (chaosLog.on) chaosLog.entries.push([op, Date.now() - response.ms, response.ms, response.status]);
    record(op, response);
    if (response.status > 0) latency[op]?.add(response.ms);
    return response;
  }

  /**
   * Retries a request with the same Idempotency-Key after a network error or a 5xx, as a client
   * would; a 503 that names a dependency is waited out for its Retry-After, for up to about 40 s.
   */
  async function callIdempotent(op, method, path, options, tries = 4) {
    let response;
    let waitedS = 0;
    const waitOut = (r) => r?.status === 503 || r?.body?.code === "idempotency_key_in_flight";
    for (let attempt = 0; attempt < tries || (waitOut(response) && waitedS < 40); attempt++) {
      response = await call(op, method, path, options);
      const retryable =
        response.status === 0 ||
        response.status >= 500 ||
        (response.status === 409 && response.body?.code === "idempotency_key_in_flight");
      if (!retryable) return response;
      const retryAfterS = waitOut(response) ? Number(response.headers["retry-after"]) : Number.NaN;
      const waitS = Number.isFinite(retryAfterS) ? retryAfterS * (0.5 + random()) : 0.5 * (attempt + 1);
      waitedS += waitS;
      await sleep(waitS * 1000);
    }
    return response;
  }

  const between = ([lo, hi]) => lo + random() * (hi - lo);

  // ── the seat map, as fans see it ──────────────────────────────────────────────────────
  async function refreshSeatMap() {
    while (!stopping) {
      const section = view.nextToRefresh(now());
      const response = await call(
        "overlay",
        "GET",
        `/v1/shows/${showId}/seat-map${section ? `?section=${section.id}` : ""}`,
      );
      c.overlay_requests++;
      if (response.status === 200) view.applyOverlay(response.body, now());
      if (response.body?.inventory === "sold_out") heardSoldOut();
      await sleep(config.refreshMs);
    }
  }

  // ── the waiting room ──────────────────────────────────────────────────────────────────
  function heardSoldOut() {
    toldSoldOutAt ??= now();
    soldOut = true;
  }

  async function join(fan) {
    await joinGate.acquire();
    try {
      if (stopping) return "stopped";
      for (let attempt = 0; attempt < 3; attempt++) {
        const response = await call("join", "POST", "/v1/waiting-room/sessions", {
          token: fan.token,
          json: { show_id: showId },
        });
        if (response.status === 201 || response.status === 200) return response.body;
        if (response.status > 0 && response.status < 500) return null;
        await sleep(1000 * (attempt + 1));
      }
      return null;
    } finally {
      joinGate.release();
    }
  }

  function takeTicket(fan, answer) {
    const claims = claimsOf(answer.ticket);
    fan.ticket = answer.ticket;
    fan.ticketExpMs = (claims.exp ?? 0) * 1000;
    fan.seq = claims.seq ?? null;
  }

  /**
   * When to poll next: never before poll_after_ms. In "smart" mode a fan far back stretches
   * it (half its estimated wait), but polls at least every `maxPollGapMs` so its ticket (valid
   * five minutes from the last answer) and its place (dropped if not seen for five minutes)
   * stay alive. See bench/README.md ("poll cadence").
   */
  function nextPollDelay(answer) {
    const min = answer.poll_after_ms;
    if (config.pollMode === "server") return min + random() * 100;
    // While everything is held the estimate is no promise: poll at the server's pace.
    if (answer.inventory === "all_held") return min + random() * 100;
    const eta = Number.isFinite(answer.estimated_wait_s) ? answer.estimated_wait_s * 1000 : 0;
    const stretched = Math.min(eta * config.pollEtaFactor, config.maxPollGapMs);
    return Math.max(Number.isFinite(min) ? min : 1000, stretched) * (1 + random() * 0.05);
  }

  async function waitInRoom(fan) {
    let answer = fan.joinAnswer;
    for (;;) {
      const delay = nextPollDelay(answer);
      pollIntervals.add(delay);
      await sleep(delay);
      if (stopping) return "stopped";
      const due = performance.now();
      // Earliest ticket expiry first, so a backlog delays the polls that can afford it.
      await pollGate.acquire(fan.ticketExpMs);
      pollLateness.add(performance.now() - due);
      const sentAt = now();
      let response;
      try {
        if (stopping) return "stopped";
        response = await call("poll", "GET", `/v1/waiting-room/sessions/${fan.sessionId}`, {
          token: fan.token,
          headers: { "waiting-room-ticket": fan.ticket },
        });
      } finally {
        pollGate.release();
      }
      c.polls++;
      // When this poll went out: Onsale can only tell a fan at a poll sent after the sell-out.
      fan.place.polls_sent_ms.push(sentAt);
      if (fan.place.polls_sent_ms.length > 2) fan.place.polls_sent_ms.shift();
      if (response.status === 200) {
        takeTicket(fan, response.body);
        // The edge answers "waiting" and "sold_out"; an admission (or a lapsed one) comes from the DO.
        if (response.body.status !== "waiting" && response.body.status !== "sold_out") {
          c.polls_do++;
          latency.poll_do.add(response.ms);
          if (response.body.status === "admitted") c.polls_do_admitted++;
        } else {
          c.polls_waiting++;
          latency.poll_waiting.add(response.ms);
        }
        if (response.body.status === "admitted") return response.body;
        if (response.body.status === "expired") return "admission_lapsed";
        if (response.body.status === "sold_out") {
          heardSoldOut();
          return "told_sold_out_in_line";
        }
        answer = response.body;
        continue;
      }
      if (response.status === 429) {
        c.polls_429++;
        answer = { ...answer, poll_after_ms: Number(response.headers["retry-after"] ?? 1) * 1000 };
        continue;
      }
      if (response.status === 401 || response.status === 404) {
        // Ticket expired or place gone: join again (the DO hands back a live place).
        const again = await join(fan);
        if (again === "stopped") return "stopped";
        if (!again) return "lost_place";
        c.rejoined++;
        takeTicket(fan, again);
        fan.sessionId = again.session_id;
        answer = again;
        continue;
      }
      answer = { ...answer, poll_after_ms: 2000 };
    }
  }

  // ── checkout ──────────────────────────────────────────────────────────────────────────
  async function holdSeats(fan, admission) {
    let quantity = Number(weighted(random, config.quantities));
    let conflicts = 0;
    let attempt = 0;
    const deadline = admission.admission_expires_at_ms - 1500;
    while (now() < deadline) {
      // At the stop, a fan still looking for seats gives up; one with a hold finishes paying.
      if (stopping) return "stopped";
      const explicit = random() < config.explicitShare;
      let section = view.chooseSection(random, quantity, { byCount: !explicit });
      let seatIds = section && explicit ? view.pickAdjacent(random, section, quantity) : null;
      if (explicit && !seatIds) {
        section = view.chooseSection(random, quantity, { byCount: true });
        seatIds = null;
      }
      if (!section) {
        // Nothing of that size left on the map: take fewer seats if some are left, else wait
        // for the map to change (declines release at once, abandoned holds at expiry).
        const room = Math.max(0, ...view.sections.map((s) => s.available));
        if (room > 0 && room < quantity) {
          quantity = room;
          c.quantity_reduced++;
          continue;
        }
        if (soldOut) return null;
        await sleep(2000);
        continue;
      }
      attempt++;
      const response = await call("hold", "POST", `/v1/shows/${showId}/holds`, {
        token: fan.token,
        headers: { "idempotency-key": `${fan.id}-h${attempt}`, "admission-token": admission.admission_token },
        json: seatIds ? { seat_ids: seatIds } : { section_id: section.id, quantity },
      });
      if (response.status === 201) {
        view.markTaken(response.body.seat_ids);
        return response.body;
      }
      const code = response.body?.code;
      if (response.status === 409 && (code === "seats_unavailable" || code === "insufficient_availability")) {
        conflicts++;
        c.hold_conflicts++;
        if (code === "seats_unavailable")
          view.markTaken(response.body.seat_ids?.length ? response.body.seat_ids : seatIds);
        else section.available = Math.min(section.available, quantity - 1);
        if (conflicts >= config.maxHoldConflicts) return null;
        continue;
      }
      if (response.status === 401 || response.status === 403) return "admission_expired";
      await sleep(500);
    }
    return "admission_expired";
  }

  async function checkout(fan, admission) {
    c.admitted++;
    c.in_checkout++;
    try {
      await sleep(between(config.think.pick));
      const hold = await holdSeats(fan, admission);
      if (hold === "admission_expired") return "admission_expired";
      if (hold === "stopped") return "checkout_stopped";
      if (!hold) return "no_seats";
      c.holds++;
      c.seats_held += hold.seat_ids.length;
      holdsCreated.push(hold.hold_id);
      const fate = random();
      // An abandoned hold must run out before the sale's time bound, so the run can prove it
      // expired: near the bound, would-be abandoners pay instead.
      const canAbandon = performance.now() - t0 < config.abandonUntilS * 1000;
      if (fate < config.mix.abandon && !canAbandon) c.abandon_skipped_near_bound++;
      if (fate < config.mix.abandon && canAbandon) {
        abandonedHolds.push({ hold_id: hold.hold_id, fan_id: fan.id, expires_at_ms: hold.expires_at_ms });
        return "abandoned";
      }
      await sleep(between(config.think.order));
      const order = await callIdempotent("order", "POST", "/v1/orders", {
        token: fan.token,
        headers: { "idempotency-key": `${fan.id}-o` },
        json: { hold_id: hold.hold_id },
      });
      if (order.status !== 201)
        return order.body?.code === "hold_expired" ? "hold_expired_before_order" : "failed_checkout";
      c.orders++;
      await sleep(between(config.think.pay));
      const declined = fate >= config.mix.abandon && fate < config.mix.abandon + config.mix.decline;
      // Each fan pays with a card of their own (the stand-in's `__<name>` test tokens), as a crowd
      // does: one shared test card would hit the per-card cap after eight tickets.
      const card = `${declined ? "pm_card_chargeDeclined" : "pm_card_visa"}__${fan.id.replace(/[^A-Za-z0-9]/g, "")}`;
      const paid = await callIdempotent("confirm", "POST", `/v1/payments/${order.body.payment.payment_id}/confirm`, {
        token: fan.token,
        headers: { "idempotency-key": `${fan.id}-p` },
        json: { payment_method: card },
      });
      if (paid.status !== 200) return "failed_checkout";
      if (paid.body.status !== "succeeded") {
        if (paid.body.decline_code === undefined) return "failed_checkout";
        // A declined order stays payable while its hold lasts (the fan may try another card);
        // this fan gives up and lets the seats go, as the checkout's Release button does.
        await call("cancel", "POST", `/v1/orders/${order.body.order_id}/cancel`, { token: fan.token });
        return "declined";
      }
      c.paid++;
      c.seats_paid += hold.seat_ids.length;
      paidOrders.push({ order_id: order.body.order_id, fan_id: fan.id, seat_ids: hold.seat_ids });
      if (!config.fetchTickets) return "paid";
      for (let attempt = 0; attempt < 3; attempt++) {
        const mine = await call("tickets", "GET", `/v1/orders/${order.body.order_id}`, { token: fan.token });
        const valid = (mine.body?.tickets ?? []).filter((t) => t.status === "valid").length;
        if (mine.status === 200 && valid === hold.seat_ids.length) {
          c.ticketed++;
          c.ticket_seats += valid;
          return "paid";
        }
        await sleep(1000);
      }
      c.tickets_missing++;
      return "paid";
    } finally {
      c.in_checkout--;
    }
  }

  // ── a fan, start to end ───────────────────────────────────────────────────────────────
  const outcomes = {};
  async function fanLife(index) {
    const fan = { id: `${config.fanPrefix}${index}` };
    fan.token = signToken(fan.id);
    c.arrived++;
    const joined = await join(fan);
    if (joined === "stopped") return "stopped";
    if (!joined) return "join_failed";
    if (joined.status === "sold_out") {
      heardSoldOut();
      return "told_sold_out_at_join";
    }
    c.joined++;
    c.waiting++;
    fan.sessionId = joined.session_id;
    fan.joinAnswer = joined;
    takeTicket(fan, joined);
    // The last two polls' send times are kept: was the fan told at its first poll after the sell-out?
    const place = { joined_at_ms: now(), left_at_ms: null, how: "stopped", polls_sent_ms: [] };
    fan.place = place;
    inLine.push(place);
    let admission;
    try {
      admission = joined.status === "admitted" ? joined : await waitInRoom(fan);
    } finally {
      c.waiting--;
    }
    if (admission === "told_sold_out_in_line" || typeof admission === "object") {
      place.left_at_ms = now();
      place.how = admission === "told_sold_out_in_line" ? "told" : "admitted";
    }
    if (typeof admission === "object") admittedAtMs.push(admission.admission_expires_at_ms - config.checkoutWindowMs);
    if (typeof admission === "string") return admission;
    return checkout(fan, admission);
  }

  function startFan(index) {
    const life = fanLife(index)
      .then((outcome) => {
        // Fans still in the room when the sale stops are counted then, not when they wake.
        if (outcome === "stopped") return;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (COUNTED_OUTCOMES.includes(outcome)) c[outcome]++;
      })
      .catch((error) => {
        const key = `exception: ${String(error?.message ?? error).slice(0, 80)}`;
        errors[key] = (errors[key] ?? 0) + 1;
        outcomes.exception = (outcomes.exception ?? 0) + 1;
      })
      .finally(() => active.delete(life));
    active.add(life);
  }

  // ── the run ───────────────────────────────────────────────────────────────────────────
  const schedule = arrivalTimes(config.fans, config.arrival, random);
  const cpu0 = process.cpuUsage();
  const refresher = refreshSeatMap();
  const dispatcher = (async () => {
    let next = 0;
    while (next < schedule.length && !stopping) {
      const elapsed = performance.now() - t0;
      while (next < schedule.length && schedule[next] <= elapsed) startFan(next++);
      await sleep(20);
    }
    arrivalsDone = true;
  })();

  const progress = () => ({
    t_s: (performance.now() - t0) / 1000,
    stopping,
    ...c,
    join_backlog: joinGate.waiting,
    join_in_flight: joinGate.active,
    poll_backlog: pollGate.waiting,
    errors: Object.values(errors).reduce((a, b) => a + b, 0),
    view_available: view.totalAvailable,
    cpu_s: (() => {
      const u = process.cpuUsage(cpu0);
      return (u.user + u.system) / 1e6;
    })(),
  });
  const ticker = setInterval(() => onProgress(progress()), 1000);

  const stopAt = t0 + config.maxSaleS * 1000;
  while (!stopping) {
    if (stopSignal.reason) {
      stopping = true;
      stopReason = stopSignal.reason;
      break;
    }
    if (performance.now() >= stopAt && !stopSignal.soldOutSeen) {
      stopping = true;
      stopReason = "time_bound";
      break;
    }
    if (arrivalsDone && active.size === 0) {
      stopping = true;
      stopReason = "every_fan_done";
      break;
    }
    await sleep(100);
  }
  const stoppedAt = performance.now();
  onProgress(progress());
  // Fans in the room are told (sold out, or the time bound); fans in checkout may finish, so
  // no payment is left half done; nobody joins or polls any more.
  const waitingAtStop = c.waiting;
  const joinBacklogAtStop = joinGate.waiting + joinGate.active;
  joinGate.clear();
  pollGate.clear();
  graceUntil = stoppedAt + config.graceS * 1000;
  for (;;) {
    if (c.in_checkout === 0 || performance.now() > graceUntil) break;
    await sleep(200);
  }
  clearInterval(ticker);
  await Promise.race([refresher, sleep(5000)]);
  await dispatcher;
  // Only fans Onsale itself told; the rest were still waiting when the sale stopped.
  c.told_sold_out = c.told_sold_out_in_line;
  c.still_waiting_at_end = waitingAtStop;
  c.never_joined = config.fans - c.joined;
  c.join_backlog_at_stop = joinBacklogAtStop;
  c.not_arrived_at_stop = config.fans - c.arrived;
  const cpu = process.cpuUsage(cpu0);
  const result = {
    stop_reason: stopReason,
    sale_s: (stoppedAt - t0) / 1000,
    run_s: (performance.now() - t0) / 1000,
    counters: c,
    outcomes,
    fans_still_active: active.size,
    statuses,
    errors,
    latency_ms: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.summary()])),
    poll_interval_ms: pollIntervals.summary(),
    poll_lateness_ms: pollLateness.summary(),
    holds_created: holdsCreated,
    abandoned_holds: abandonedHolds,
    paid_orders: paidOrders,
    chaos_log: chaosLog.entries,
    queue_truth: { in_line: inLine, admitted_at_ms: admittedAtMs, told_sold_out_at_ms: toldSoldOutAt },
    cpu_s: (cpu.user + cpu.system) / 1e6,
    final: progress(),
  };
  client.close();
  return result;
}

if (process.send) {
  const stopSignal = { reason: null, soldOutSeen: false };
  process.on("message", async (message) => {
    if (message?.type === "chaos") {
      chaosLog.on = message.on;
      return;
    }
    if (message?.type === "stop") {
      stopSignal.reason = message.reason;
      return;
    }
    // The bench saw the sell-out in the organizer's stats: the sale's time bound no longer cuts
    // the crowd short, so every fan in line polls again and hears it from Onsale (or not). Fans
    // are never told anything from this.
    if (message?.type === "sold_out_seen") {
      stopSignal.soldOutSeen = true;
      return;
    }
    if (message?.type !== "flash" && message?.type !== "race") return;
    try {
      const result =
        message.type === "flash"
          ? await runFlashCrowd(message.config, {
              stopSignal,
              onProgress: (progress) => process.send({ type: "progress", progress }),
            })
          : await runRace(message.config);
      process.send({ type: "result", result });
    } catch (error) {
      process.send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
}
