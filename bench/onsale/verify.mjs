// After the flash crowd: the invariants, checked against Postgres (with `pg`, straight to the
// embedded database), against the Show DO through the public and organizer API, and against
// the Stripe stand-in's own record of what was charged.
import pg from "pg";
import { call } from "../lib/api.mjs";
import { sleep } from "./http.mjs";

/** sales counts as the DO keeps them: counts() runs no expiry sweep, so only the alarm (or a request that sweeps) ends a hold. */
export async function salesOf(base, organizerKey, showId) {
  const sales = await call(base, "GET", `/v1/admin/shows/${showId}/sales`, { token: organizerKey, expect: 200 });
  return sales.body;
}

/** Seats in orders still awaiting payment: their holds are in checkout, not past expiry. */
async function pendingOrderSeats(client, showId) {
  const { rows } = await client.query(
    `SELECT count(*)::int AS seats FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE o.show_id = $1 AND o.status = 'pending_payment'`,
    [showId],
  );
  return rows[0].seats;
}

/**
 * No hold outlives its expiry: once the last hold that was not ordered has expired (plus the
 * alarm's slack), the DO's held count equals the seats of orders still being paid for. Only
 * the organizer's sales read runs meanwhile, and it does not sweep, so this is the alarm.
 */
export async function waitForHoldExpiry({ base, organizerKey, databaseUrl, showId, lastExpiryMs, slackMs, log }) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Math.max(Date.now(), lastExpiryMs) + slackMs;
    let sales;
    let expected;
    let reachedAt = null;
    for (;;) {
      sales = await salesOf(base, organizerKey, showId);
      expected = await pendingOrderSeats(client, showId);
      if (sales.counts.held === expected && Date.now() >= lastExpiryMs) {
        reachedAt = Date.now();
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(1000);
    }
    const result = {
      last_hold_expiry: lastExpiryMs ? new Date(lastExpiryMs).toISOString() : null,
      held_seats: sales.counts.held,
      seats_in_orders_being_paid: expected,
      ok: sales.counts.held === expected,
      settled_ms_after_last_expiry: reachedAt && lastExpiryMs ? Math.max(0, reachedAt - lastExpiryMs) : 0,
    };
    log?.(
      `hold expiry: ${result.ok ? "OK" : "FAILED"} — ${sales.counts.held} seats held after the last expiry (${expected} in orders being paid)`,
    );
    return result;
  } finally {
    await client.end();
  }
}

export async function verifySale({
  base,
  organizerKey,
  databaseUrl,
  showId,
  stadium,
  blocked,
  fanResult,
  stripeEvents,
  signToken,
  log,
}) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const out = { checks: {} };
  try {
    const q = async (text, params) => (await client.query(text, params)).rows;

    // 1. Zero seats (or GA places) with two valid tickets (the whole database, and this show).
    const doubles = await q(
      `SELECT show_id, place_id, count(*)::int AS n FROM tickets WHERE status IN ('valid', 'checked_in')
        GROUP BY show_id, place_id HAVING count(*) > 1 LIMIT 20`,
    );
    out.checks.zero_double_tickets = {
      ok: doubles.length === 0,
      seats_with_two_valid_tickets: doubles.length,
      examples: doubles,
    };

    // 2. Every successful payment ticketed or refunded.
    const paid = await q(
      `SELECT p.id AS payment_id, o.id AS order_id, o.status AS order_status,
              (SELECT count(*)::int FROM order_items i WHERE i.order_id = o.id) AS items,
              (SELECT count(*)::int FROM tickets t WHERE t.order_id = o.id AND t.status IN ('valid', 'checked_in')) AS tickets,
              (SELECT count(*)::int FROM refunds r WHERE r.order_id = o.id) AS refunds
         FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE o.show_id = $1 AND p.status = 'succeeded'`,
      [showId],
    );
    const ticketed = paid.filter((r) => r.order_status === "confirmed" && r.tickets === r.items && r.items > 0);
    const refunded = paid.filter((r) => ["refunded", "refund_pending"].includes(r.order_status) && r.refunds > 0);
    const neither = paid.filter((r) => !ticketed.includes(r) && !refunded.includes(r));
    out.checks.every_payment_ticketed_or_refunded = {
      ok: neither.length === 0,
      succeeded_payments: paid.length,
      ticketed: ticketed.length,
      refunded: refunded.length,
      neither: neither.length,
      examples: neither.slice(0, 5),
    };

    // 3. What Stripe charged is what Postgres recorded: every succeeded PaymentIntent of this show.
    const charged = stripeEvents
      .filter((e) => e.type === "payment_intent.succeeded" && e.data?.object?.metadata?.show_id === showId)
      .map((e) => e.data.object.id);
    const chargedSet = [...new Set(charged)];
    const recorded = await q(
      `SELECT p.provider_payment_id AS intent, p.status FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE o.show_id = $1 AND p.provider_payment_id = ANY($2::text[])`,
      [showId, chargedSet],
    );
    const recordedOk = new Set(recorded.filter((r) => r.status === "succeeded").map((r) => r.intent));
    const unrecorded = chargedSet.filter((id) => !recordedOk.has(id));
    out.checks.stripe_charges_recorded = {
      ok: unrecorded.length === 0,
      intents_succeeded_at_stripe: chargedSet.length,
      recorded_as_succeeded: recordedOk.size,
      missing: unrecorded.slice(0, 5),
    };

    // 4. The tickets are exactly the seats the fans were told they paid for.
    const ticketRows = await q(
      `SELECT order_id, seat_id, ga_section_id, ga_number FROM tickets
        WHERE show_id = $1 AND status IN ('valid', 'checked_in')`,
      [showId],
    );
    const ticketSeats = new Map(ticketRows.filter((r) => r.seat_id).map((r) => [r.seat_id, r.order_id]));
    const gaTickets = ticketRows.filter((r) => r.ga_section_id !== null);
    const gaByOrder = new Map();
    for (const r of gaTickets) gaByOrder.set(r.order_id, (gaByOrder.get(r.order_id) ?? 0) + 1);
    let clientSeats = 0;
    let clientSeatsWithoutTicket = 0;
    for (const order of fanResult.paid_orders) {
      for (const seat of order.seat_ids) {
        clientSeats++;
        if (ticketSeats.get(seat) !== order.order_id) clientSeatsWithoutTicket++;
      }
      // A GA order: as many GA tickets as places paid for.
      const places = order.ga?.quantity ?? 0;
      clientSeats += places;
      clientSeatsWithoutTicket += Math.max(0, places - (gaByOrder.get(order.order_id) ?? 0));
    }
    out.checks.paid_seats_have_their_tickets = {
      ok: clientSeatsWithoutTicket === 0,
      seats_fans_paid_for: clientSeats,
      valid_tickets_in_postgres: ticketRows.length,
      paid_seats_without_that_ticket: clientSeatsWithoutTicket,
    };
    out.orders_by_status = Object.fromEntries(
      (
        await q("SELECT status, count(*)::int AS n FROM orders WHERE show_id = $1 GROUP BY status ORDER BY status", [
          showId,
        ])
      ).map((r) => [r.status, r.n]),
    );
    out.payments_by_status = Object.fromEntries(
      (
        await q(
          `SELECT p.status, count(*)::int AS n FROM payments p JOIN orders o ON o.id = p.order_id
            WHERE o.show_id = $1 GROUP BY p.status ORDER BY p.status`,
          [showId],
        )
      ).map((r) => [r.status, r.n]),
    );
    out.refunds = (
      await q("SELECT count(*)::int AS n FROM refunds WHERE order_id IN (SELECT id FROM orders WHERE show_id = $1)", [
        showId,
      ])
    )[0].n;

    // 4b. General admission: the capacity sold is the GA tickets valid, never more than the
    // capacity, each number once; the Show DO's sold places are exactly those numbers.
    if (stadium.ga) {
      const places = await call(base, "GET", `/v1/admin/shows/${showId}/seats?section=${stadium.ga.id}`, {
        token: organizerKey,
        expect: 200,
      });
      const soldPlaces = places.body.seats.filter((p) => p.status === "sold").map((p) => p.seat_id);
      const numbers = new Set(gaTickets.map((r) => r.ga_number));
      const ticketPlaces = new Set(gaTickets.map((r) => `${r.ga_section_id}#${r.ga_number}`));
      out.checks.ga_capacity_never_oversold = {
        ok:
          gaTickets.length <= stadium.ga.capacity &&
          numbers.size === gaTickets.length &&
          soldPlaces.length === gaTickets.length &&
          soldPlaces.every((p) => ticketPlaces.has(p)),
        capacity: stadium.ga.capacity,
        ga_tickets_valid: gaTickets.length,
        distinct_numbers: numbers.size,
        sold_in_do: soldPlaces.length,
        paid_by_fans: fanResult.paid_orders.reduce((n, o) => n + (o.ga?.quantity ?? 0), 0),
      };
    }

    // 5. The Show DO: counts add up, agree with Postgres, and the overlay agrees seat by seat.
    const sales = await salesOf(base, organizerKey, showId);
    const k = sales.counts;
    const pendingSeats = await pendingOrderSeats(client, showId);
    out.checks.counts_add_up = {
      ok:
        k.sold + k.available + k.blocked + k.held === k.capacity &&
        k.capacity === stadium.seatCount + (stadium.ga?.capacity ?? 0) &&
        k.held === pendingSeats,
      ...k,
      seats_in_orders_being_paid: pendingSeats,
      sold_plus_available_plus_blocked: k.sold + k.available + k.blocked,
    };
    out.checks.do_agrees_with_postgres = {
      ok: k.sold === ticketRows.length && k.blocked === blocked.length,
      sold_in_do: k.sold,
      valid_tickets: ticketRows.length,
      blocked_in_do: k.blocked,
      blocked_by_bench: blocked.length,
    };
    const blockedSet = new Set(blocked);
    let unavailable = 0;
    let soldButAvailable = 0;
    let blockedButAvailable = 0;
    let unavailableUnexplained = 0;
    for (const section of stadium.sections) {
      const detail = await call(base, "GET", `/v1/shows/${showId}/seat-map?section=${section.id}`, { expect: 200 });
      for (const seat of detail.body.seats) {
        const isUnavailable = seat.status !== "available";
        if (isUnavailable) unavailable++;
        if (ticketSeats.has(seat.seat_id) && !isUnavailable) soldButAvailable++;
        if (blockedSet.has(seat.seat_id) && !isUnavailable) blockedButAvailable++;
        if (isUnavailable && !ticketSeats.has(seat.seat_id) && !blockedSet.has(seat.seat_id)) unavailableUnexplained++;
      }
    }
    out.checks.overlay_matches_tickets = {
      ok: soldButAvailable === 0 && blockedButAvailable === 0 && unavailableUnexplained <= pendingSeats,
      unavailable_in_overlay: unavailable,
      ticketed_but_available: soldButAvailable,
      blocked_but_available: blockedButAvailable,
      unavailable_without_ticket_or_block: unavailableUnexplained,
    };

    // 6. Abandoned holds ended as expired (a sample, read by their own fans).
    const sample = fanResult.abandoned_holds.slice(0, 60);
    const states = {};
    for (const hold of sample) {
      const read = await call(base, "GET", `/v1/holds/${hold.hold_id}`, { token: signToken(hold.fan_id) });
      const status = read.status === 200 ? read.body.status : `http ${read.status}`;
      states[status] = (states[status] ?? 0) + 1;
    }
    out.checks.abandoned_holds_expired = {
      ok: (states.expired ?? 0) === sample.length,
      sampled: sample.length,
      of: fanResult.abandoned_holds.length,
      states,
    };
    out.sales = sales;
  } finally {
    await client.end();
  }
  out.ok = Object.values(out.checks).every((check) => check.ok);
  for (const [name, check] of Object.entries(out.checks)) {
    const { ok, examples: _examples, ...figures } = check;
    log?.(`${ok ? "OK    " : "FAILED"} ${name.replaceAll("_", " ")} ${JSON.stringify(figures)}`);
  }
  return out;
}
