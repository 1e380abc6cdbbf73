import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api } from "../../../api/client";
import type { Hold, Order, OrderCreated, PaymentConfirmation } from "../../../api/types";
import { announce } from "../../../components/announcer";
import { Countdown } from "../../../components/countdown";
import { ProblemMessage } from "../../../components/problem";
import { money, t } from "../../../i18n";
import { config, loadConfig } from "../../../lib/config";
import { serverNow } from "../../../lib/server-clock";
import { newKey } from "../../../lib/storage";
import { type CheckoutState, holdLines, saveCheckout } from "../checkout-store";
import type { StepProps } from "../steps";
import { Confirmed } from "./confirmed";
import { StripePayment } from "./stripe-payment";
import { TEST_CARDS, type TestCard } from "./test-cards";

type Phase =
  | { kind: "review" }
  | { kind: "paying" }
  | { kind: "processing" }
  | { kind: "declined"; reason: string }
  | { kind: "challenge" }
  | { kind: "expired" }
  | { kind: "released" }
  | { kind: "confirmed"; order: Order };

/**
 * Hold → order → payment. The countdown runs to the hold's expiry (stretched by the API once
 * an order exists) on the server's clock. A declined card keeps the order and its hold (Stripe
 * keeps the PaymentIntent payable), so the fan tries another card on the same order until the
 * countdown ends. With a Stripe publishable key the card is taken by Stripe's Payment Element;
 * locally, a test-card chooser confirms through the API against the Stripe stand-in.
 */
export function Checkout({ show, fan, checkout, onBackToSeats }: StepProps) {
  const [state, setState] = useState<CheckoutState>(checkout!);
  const [phase, setPhase] = useState<Phase>({ kind: "review" });
  const [error, setError] = useState<unknown>(null);
  const [card, setCard] = useState<TestCard>(TEST_CARDS[0]!);
  const [busy, setBusy] = useState(false);
  const keys = useRef({ order: newKey(), pay: newKey() });
  const heading = useRef<HTMLHeadingElement>(null);
  const challengeRef = useRef<HTMLElement>(null);
  const settings = config.value;

  useEffect(() => {
    loadConfig();
  }, []);

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
    if (phase.kind === "challenge") challengeRef.current?.focus();
    else if (phase.kind !== "declined") heading.current?.focus();
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

  const declined = (code: string) => {
    const reason = t.checkout.declineReasons[code] ?? code;
    setPhase({ kind: "declined", reason });
    announce(t.checkout.declined(reason), { assertive: true });
  };

  /** Asks the API to read the payment from Stripe (no payment method: nothing is charged). */
  const refresh = () =>
    api<PaymentConfirmation>(`/v1/payments/${state.order!.payment.payment_id}/confirm`, {
      method: "POST",
      auth: true,
      idempotencyKey: newKey(),
      body: {},
    });

  /** Where a confirm or refresh left the payment, told to the fan. */
  const settle = async (first: PaymentConfirmation) => {
    let result = first;
    // Asynchronous confirmation (a bank's check): refresh until Stripe settles it.
    for (
      let i = 0;
      i < 20 &&
      result.order_status === "pending_payment" &&
      ["processing", "requires_confirmation"].includes(result.status);
      i++
    ) {
      setPhase({ kind: "processing" });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      result = await refresh();
    }
    if (result.order_status === "confirmed") return finish(state.order!.order_id);
    if (result.decline_code) return declined(result.decline_code);
    if (result.order_status === "pending_payment" && result.status === "requires_action") {
      setPhase({ kind: "challenge" });
      announce(t.checkout.challengeTitle, { assertive: true });
      return;
    }
    if (result.order_status === "pending_payment" && result.status === "requires_payment_method")
      return declined("authentication_failed");
    if (result.order_status === "cancelled" || result.order_status === "payment_failed") {
      update(null);
      setPhase({ kind: "released" });
      return;
    }
    setPhase({ kind: "review" });
    setError(new ApiProblem(409, result.order_status, t.checkout.unexpected(result.order_status)));
  };

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setPhase({ kind: "review" });
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  /** Test cards: the API confirms server-side against the Stripe stand-in. */
  const pay = () =>
    run(async () => {
      if (!state.order) return;
      setPhase({ kind: "paying" });
      const result = await api<PaymentConfirmation>(`/v1/payments/${state.order.payment.payment_id}/confirm`, {
        method: "POST",
        auth: true,
        idempotencyKey: keys.current.pay,
        body: { payment_method: card.paymentMethod },
      });
      keys.current.pay = newKey();
      await settle(result);
    });

  /** The stand-in's 3-D Secure challenge, answered through the development API. */
  const answerChallenge = (outcome: "succeed" | "fail") =>
    run(async () => {
      try {
        await api(`/v1/dev/payments/${state.order!.payment.payment_id}/three-d-secure`, {
          method: "POST",
          auth: true,
          body: { outcome },
        });
      } catch (caught) {
        if (caught instanceof ApiProblem && caught.status === 404) {
          setPhase({ kind: "declined", reason: t.checkout.challengeUnavailable });
          return;
        }
        throw caught;
      }
      await settle(await refresh());
    });

  /** Stripe.js has confirmed (or refused) the payment in the browser: the API reads the outcome. */
  const afterStripe = ({
    error: stripeError,
  }: {
    error?: { type: string; code?: string; decline_code?: string; message?: string };
  }) =>
    run(async () => {
      if (stripeError && (stripeError.type === "card_error" || stripeError.type === "validation_error")) {
        if (stripeError.type === "validation_error") {
          setPhase({ kind: "review" });
          return;
        }
        return declined(stripeError.decline_code ?? stripeError.code ?? "card_declined");
      }
      if (stripeError) throw new ApiProblem(0, stripeError.code ?? "stripe", stripeError.message ?? stripeError.type);
      await settle(await refresh());
    });

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
  const payLabel =
    phase.kind === "processing"
      ? t.checkout.processing
      : busy
        ? t.checkout.paying
        : t.checkout.pay(money(total, currency));
  const stripeKey = settings?.stripe_publishable_key ?? null;
  const clientSecret = state.order?.payment.client_secret ?? null;

  let payment: preact.ComponentChildren = null;
  if (!state.order) {
    payment = (
      <div class="actions">
        <button type="button" class="primary large" onClick={startPayment} disabled={busy}>
          {busy ? t.checkout.creatingOrder : t.checkout.continue}
        </button>
      </div>
    );
  } else if (phase.kind === "challenge") {
    payment = (
      <section class="challenge" aria-labelledby="challenge-heading" tabIndex={-1} ref={challengeRef}>
        <h3 id="challenge-heading">{t.checkout.challengeTitle}</h3>
        <p>{t.checkout.challengeReal}</p>
        <p class="muted">{t.checkout.challengeLocal}</p>
        <div class="actions">
          <button type="button" class="primary" onClick={() => answerChallenge("succeed")} disabled={busy}>
            {t.checkout.challengeApprove}
          </button>
          <button type="button" onClick={() => answerChallenge("fail")} disabled={busy}>
            {t.checkout.challengeFail}
          </button>
        </div>
      </section>
    );
  } else if (!settings) {
    payment = <p class="muted">{t.checkout.loadingStripe}</p>;
  } else if (stripeKey && clientSecret) {
    payment = (
      <StripePayment
        publishableKey={stripeKey}
        clientSecret={clientSecret}
        label={payLabel}
        busy={busy}
        onStart={() => {
          setBusy(true);
          setError(null);
          setPhase({ kind: "paying" });
        }}
        onResult={afterStripe}
      />
    );
  } else {
    payment = (
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
          {phase.kind === "declined" ? t.checkout.payAgain(money(total, currency)) : payLabel}
        </button>
      </form>
    );
  }

  return (
    <section class="panel checkout" aria-labelledby="checkout-heading">
      <h2 id="checkout-heading" ref={heading} tabIndex={-1}>
        {t.checkout.title}
      </h2>
      <Countdown
        key={deadline}
        deadlineMs={deadline}
        label={state.order ? t.checkout.payWithin : t.checkout.heldFor}
        onEnd={onTimeUp}
        onMinuteLeft={() => announce(t.checkout.minuteLeft, { assertive: true })}
      />
      <h3>{t.checkout.seats}</h3>
      <ul class="checkout-seats">
        {holdLines(state.hold).map((seatId) => (
          <li key={seatId}>
            <span>{state.seats[seatId]?.label ?? seatId}</span>
          </li>
        ))}
      </ul>
      <p class="total">
        <span>{t.checkout.total}</span> <strong>{money(total, currency)}</strong>
      </p>

      {phase.kind === "declined" && (
        <div class="notice notice-error" role="alert">
          <p>{t.checkout.declined(phase.reason)}</p>
          <p>{t.checkout.declinedStillHeld}</p>
        </div>
      )}
      {payment}
      {error !== null && <ProblemMessage error={error} />}
      <p>
        <button type="button" class="link-button" onClick={release} disabled={busy}>
          {state.order ? t.checkout.cancel : t.checkout.release}
        </button>
      </p>
    </section>
  );
}
