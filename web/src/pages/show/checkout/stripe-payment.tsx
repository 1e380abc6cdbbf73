import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../../../i18n";
import { loadScript } from "../../../lib/config";

// Stripe's Payment Element, used when the deployment has a publishable key (GET /v1/config).
// Stripe.js comes from js.stripe.com only then (PCI: card details never touch Onsale); it
// confirms the PaymentIntent itself, 3-D Secure included, and the app then asks the API to
// refresh the payment (`POST /v1/payments/{id}/confirm` without a payment method).

interface StripeError {
  type: string;
  code?: string;
  decline_code?: string;
  message?: string;
}
interface StripeElements {
  create(type: "payment", options?: Record<string, unknown>): { mount(target: HTMLElement): void; destroy(): void };
  submit(): Promise<{ error?: StripeError }>;
}
interface StripeInstance {
  elements(options: { clientSecret: string; appearance?: Record<string, unknown> }): StripeElements;
  confirmPayment(options: {
    elements: StripeElements;
    redirect: "if_required";
    confirmParams: { return_url: string };
  }): Promise<{ error?: StripeError; paymentIntent?: { id: string; status: string } }>;
}
declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeInstance;
  }
}

export const STRIPE_JS = "https://js.stripe.com/v3/";

export function StripePayment({
  publishableKey,
  clientSecret,
  label,
  busy,
  onStart,
  onResult,
}: {
  publishableKey: string;
  clientSecret: string;
  label: string;
  busy: boolean;
  onStart: () => void;
  /** Stripe.js has finished (paid, declined, or failed to load): the caller refreshes or explains. */
  onResult: (outcome: { error?: StripeError }) => void;
}) {
  const mountPoint = useRef<HTMLDivElement>(null);
  const stripe = useRef<{ instance: StripeInstance; elements: StripeElements } | null>(null);
  const [ready, setReady] = useState(false);
  const [loadFailed, setLoadFailed] = useState(false);

  useEffect(() => {
    let element: { destroy(): void } | null = null;
    let cancelled = false;
    loadScript(STRIPE_JS)
      .then(() => {
        if (cancelled || !window.Stripe || !mountPoint.current) return;
        const instance = window.Stripe(publishableKey);
        const elements = instance.elements({ clientSecret, appearance: { theme: "stripe" } });
        const payment = elements.create("payment", { layout: "tabs" });
        payment.mount(mountPoint.current);
        element = payment;
        stripe.current = { instance, elements };
        setReady(true);
      })
      .catch(() => setLoadFailed(true));
    return () => {
      cancelled = true;
      element?.destroy();
    };
  }, [publishableKey, clientSecret]);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (!stripe.current) return;
    onStart();
    const { instance, elements } = stripe.current;
    const result = await instance.confirmPayment({
      elements,
      redirect: "if_required",
      confirmParams: { return_url: window.location.href },
    });
    onResult({ error: result.error });
  };

  if (loadFailed)
    return (
      <p class="notice notice-error" role="alert">
        {t.checkout.stripeUnavailable}
      </p>
    );
  return (
    <form class="payment" onSubmit={onSubmit} aria-busy={!ready}>
      <fieldset>
        <legend>{t.checkout.cardDetails}</legend>
        <div ref={mountPoint} class="stripe-element" data-testid="payment-element" />
        {!ready && <p class="muted">{t.checkout.loadingStripe}</p>}
      </fieldset>
      <button type="submit" class="primary large" disabled={busy || !ready}>
        {label}
      </button>
    </form>
  );
}
