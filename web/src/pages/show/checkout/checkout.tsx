import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api } from "../../../api/client";
import type { Hold, Order, OrderCreated, PaymentConfirmation } from "../../../api/types";
import { announce } from "../../../components/announcer";
import { Countdown } from "../../../components/countdown";
import { ProblemMessage } from "../../../components/problem";
import { money, t } from "../../../i18n";
import { serverNow } from "../../../lib/server-clock";
import { newKey } from "../../../lib/storage";
import { type CheckoutState, saveCheckout } from "../checkout-store";
import { liveAdmission, loadPlace } from "../queue-store";
import type { StepProps } from "../steps";
import { Confirmed } from "./confirmed";
import { TEST_CARDS, type TestCard } from "./test-cards";

type Phase =
  | { kind: "review" }
  | { kind: "paying" }
  | { kind: "processing" }
  | { kind: "declined"; reason: string }
  | { kind: "expired" }
  | { kind: "released" }
  | { kind: "confirmed"; order: Order };

/**
 * Hold → order → payment. The countdown runs to the hold's expiry (stretched by the API once
 * an order exists) on the server's clock. A declined card releases the hold on the API's
 * side, so "try again" holds the same seats again if they are still free.
 */
export function Checkout({ show, fan, checkout, onBackToSeats, onAdmissionLost }: StepProps) {
  const [state, setState] = useState<CheckoutState>(checkout!);
  const [phase, setPhase] = useState<Phase>({ kind: "review" });
  const [error, setError] = useState<unknown>(null);
  const [card, setCard] = useState<TestCard>(TEST_CARDS[0]!);
  const [busy, setBusy] = useState(false);
  const keys = useRef({ order: newKey(), pay: newKey() });
  const heading = useRef<HTMLHeadingElement>(null);

  const update = (next: CheckoutState | null) => {
    saveCheckout(fan.fan_id, show.show_id, next);
    if (next) setState(next);
  };

  // A reloaded checkout asks the API where the hold and order stand before showing anything.
  useEffect(() => {
    api<Hold>(`/v1/holds/${state.hold.hold_id}`, { auth: true })
      .then(async (hold) => {
        if (hold.status === "sold" && state.order) return finish(state.order.order_id);
        if (hold.status !== "active" && hold.status !== "checkout") {
          update(null);
          setPhase({ kind: hold.status === "expired" ? "expired" : "released" });
          return;
        }
        update({ ...state, hold });
      })
      .catch(() => {});
  }, []);

  useEffect(() => {
    heading.current?.focus();
  }, [phase.kind]);

  const deadline = state.order
    ? Math.max(state.order.expires_at_ms, state.hold.expires_at_ms)
    : state.hold.expires_at_ms;

  const onTimeUp = async () => {
    // The device may be ahead of the server even after correction: ask before telling.
    try {
      const hold = await api<Hold>(`/v1/holds/${state.hold.hold_id}`, { auth: true });
      if (hold.status === "active" || hold.status === "checkout") {
        if (hold.expires_at_ms > serverNow()) return update({ ...state, hold });
      }
      if (hold.status === "sold") return;
    } catch {}
    update(null);
    setPhase({ kind: "expired" });
    announce(t.checkout.expired, { assertive: true });
  };

  const startPayment = async () => {
    setBusy(true);
    setError(null);
    try {
      const order = await api<OrderCreated>("/v1/orders", {
        method: "POST",
        auth: true,
        idempotencyKey: keys.current.order,
        body: { hold_id: state.hold.hold_id },
      });
      update({ ...state, order });
    } catch (caught) {
      if (caught instanceof ApiProblem && (caught.code === "hold_expired" || caught.code === "hold_released")) {
        update(null);
        setPhase({ kind: caught.code === "hold_expired" ? "expired" : "released" });
      } else setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const finish = async (orderId: string) => {
    const order = await api<Order>(`/v1/orders/${orderId}`, { auth: true });
    update(null);
    setPhase({ kind: "confirmed", order });
    announce(t.checkout.confirmed, { assertive: true });
  };

  const pay = async () => {
    if (!state.order) return;
    setBusy(true);
    setError(null);
    setPhase({ kind: "paying" });
    try {
      let result = await api<PaymentConfirmation>(`/v1/payments/${state.order.payment.payment_id}/confirm`, {
        method: "POST",
        auth: true,
        idempotencyKey: keys.current.pay,
        body: { payment_method: card.paymentMethod },
      });
      keys.current.pay = newKey();
      // Asynchronous confirmation (a bank's check): refresh until Stripe settles it.
      for (let i = 0; i < 20 && result.order_status === "pending_payment" && !result.decline_code; i++) {
        setPhase({ kind: "processing" });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        result = await api<PaymentConfirmation>(`/v1/payments/${state.order.payment.payment_id}/confirm`, {
          method: "POST",
          auth: true,
          idempotencyKey: newKey(),
          body: {},
        });
      }
      if (result.order_status === "confirmed") return await finish(state.order.order_id);
      if (result.decline_code || result.order_status === "payment_failed") {
        const code = result.decline_code ?? result.status;
        const reason = t.checkout.declineReasons[code] ?? code;
        setPhase({ kind: "declined", reason });
        announce(t.checkout.declined(reason), { assertive: true });
        return;
      }
      setPhase({ kind: "review" });
      setError(new ApiProblem(409, result.order_status, result.order_status));
    } catch (caught) {
      setPhase({ kind: "review" });
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  /** The declined order released its hold: hold the same seats again and start a new order. */
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      const admission = show.waiting_room?.enabled
        ? liveAdmission(loadPlace(fan.fan_id, show.show_id), serverNow())
        : null;
      if (show.waiting_room?.enabled && !admission) {
        update(null);
        return onAdmissionLost();
      }
      const hold = await api<Hold>(`/v1/shows/${show.show_id}/holds`, {
        method: "POST",
        auth: true,
        idempotencyKey: newKey(),
        body: { seat_ids: state.hold.seat_ids },
        headers: admission ? { "admission-token": admission.token } : {},
      });
      keys.current.order = newKey();
      const order = await api<OrderCreated>("/v1/orders", {
        method: "POST",
        auth: true,
        idempotencyKey: keys.current.order,
        body: { hold_id: hold.hold_id },
      });
      update({ ...state, hold, order });
      setPhase({ kind: "review" });
    } catch (caught) {
      if (caught instanceof ApiProblem && caught.code === "seats_unavailable") {
        update(null);
        setPhase({ kind: "released" });
        setError(new ApiProblem(409, caught.code, t.checkout.retryLost));
      } else setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const release = async () => {
    setBusy(true);
    setError(null);
    try {
      if (state.order) await api(`/v1/orders/${state.order.order_id}/cancel`, { method: "POST", auth: true });
      else await api(`/v1/holds/${state.hold.hold_id}`, { method: "DELETE", auth: true });
      update(null);
      announce(t.checkout.released);
      onBackToSeats();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (phase.kind === "confirmed") return <Confirmed order={phase.order} show={show} />;

  if (phase.kind === "expired" || phase.kind === "released") {
    const lostMessage = error instanceof ApiProblem && error.code === "seats_unavailable";
    return (
      <section class="panel" aria-labelledby="checkout-heading">
        <h2 id="checkout-heading" ref={heading} tabIndex={-1}>
          {t.checkout.title}
        </h2>
        <p class="notice notice-warning" role="alert">
          {lostMessage ? t.checkout.retryLost : phase.kind === "expired" ? t.checkout.expired : t.checkout.released}
        </p>
        <button type="button" class="primary" onClick={onBackToSeats}>
          {t.checkout.chooseAgain}
        </button>
      </section>
    );
  }

  const total = state.order?.total_cents ?? state.hold.price_cents;
  const currency = state.order?.currency ?? state.hold.currency;
  return (
    <section class="panel checkout" aria-labelledby="checkout-heading">
      <h2 id="checkout-heading" ref={heading} tabIndex={-1}>
        {t.checkout.title}
      </h2>
      {phase.kind !== "declined" && (
        <Countdown
          key={deadline}
          deadlineMs={deadline}
          label={state.order ? t.checkout.payWithin : t.checkout.heldFor}
          onEnd={onTimeUp}
          onMinuteLeft={() => announce(t.checkout.minuteLeft, { assertive: true })}
        />
      )}
      <h3>{t.checkout.seats}</h3>
      <ul class="checkout-seats">
        {state.hold.seat_ids.map((seatId) => (
          <li key={seatId}>
            <span>{state.seats[seatId]?.label ?? seatId}</span>
          </li>
        ))}
      </ul>
      <p class="total">
        <span>{t.checkout.total}</span> <strong>{money(total, currency)}</strong>
      </p>

      {phase.kind === "declined" ? (
        <div class="notice notice-error" role="alert">
          <p>{t.checkout.declined(phase.reason)}</p>
          <p>{t.checkout.declinedReleased}</p>
          <button type="button" class="primary" onClick={retry} disabled={busy}>
            {busy ? t.checkout.retrying : t.checkout.retry}
          </button>
        </div>
      ) : !state.order ? (
        <div class="actions">
          <button type="button" class="primary large" onClick={startPayment} disabled={busy}>
            {busy ? t.checkout.creatingOrder : t.checkout.continue}
          </button>
        </div>
      ) : (
        <form
          class="payment"
          onSubmit={(event) => {
            event.preventDefault();
            pay();
          }}
        >
          <fieldset>
            <legend>{t.checkout.testCards}</legend>
            {TEST_CARDS.map((option) => (
              <div class="check" key={option.paymentMethod}>
                <input
                  type="radio"
                  name="card"
                  id={`card-${option.paymentMethod}`}
                  value={option.paymentMethod}
                  checked={card.paymentMethod === option.paymentMethod}
                  onChange={() => setCard(option)}
                />
                <label for={`card-${option.paymentMethod}`}>{option.label()}</label>
              </div>
            ))}
          </fieldset>
          <button type="submit" class="primary large" disabled={busy}>
            {phase.kind === "processing"
              ? t.checkout.processing
              : busy
                ? t.checkout.paying
                : t.checkout.pay(money(total, currency))}
          </button>
        </form>
      )}
      {error !== null && <ProblemMessage error={error} />}
      {phase.kind !== "declined" && (
        <p>
          <button type="button" class="link-button" onClick={release} disabled={busy}>
            {state.order ? t.checkout.cancel : t.checkout.release}
          </button>
        </p>
      )}
    </section>
  );
}
