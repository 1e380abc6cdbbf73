import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Show } from "../../api/types";
import { Countdown } from "../../components/countdown";
import { PageHeading } from "../../components/page-heading";
import { Loading, ProblemMessage } from "../../components/problem";
import { SignInForm } from "../../components/sign-in-form";
import { showTime, t } from "../../i18n";
import { serverNow } from "../../lib/server-clock";
import { useLoad } from "../../lib/use-load";
import { session } from "../../session";
import { type CheckoutState, loadCheckout } from "./checkout-store";
import { liveAdmission, loadPlace } from "./queue-store";
import type { StepProps } from "./steps";
import { Waiting } from "./waiting";

// The show page walks one fan through a purchase: sign in → (waiting room) → seats →
// checkout. Only the waiting step is in this chunk; the map and checkout load when reached,
// so the page a flash crowd sits on stays small.

type Step = "waiting" | "picking" | "checkout";
type LazyStep = FunctionComponent<StepProps>;
const lazySteps: Partial<Record<"picking" | "checkout", LazyStep>> = {};
const loadStep = {
  picking: () => import("./picker/picker").then((m) => m.Picker),
  checkout: () => import("./checkout/checkout").then((m) => m.Checkout),
};

export default function ShowPage({ params }: { params: Record<string, string> }) {
  const showId = params.show_id!;
  const fan = session.value;
  const loaded = useLoad((signal) => api<Show>(`/v1/shows/${encodeURIComponent(showId)}`, { signal }), [showId]);
  const [step, setStep] = useState<Step | null>(null);
  const [checkout, setCheckout] = useState<CheckoutState | null>(null);
  const [, setLoadedSteps] = useState(0);
  const show = loaded.data;

  // Where a (re)loaded page starts: an open checkout, else the queue while the room is on
  // and the fan holds no live admission, else the map.
  useEffect(() => {
    if (!show || !fan) return;
    const stored = loadCheckout(fan.fan_id, show.show_id);
    if (stored) {
      setCheckout(stored);
      setStep("checkout");
      return;
    }
    const admitted = liveAdmission(loadPlace(fan.fan_id, show.show_id), serverNow());
    setStep(show.waiting_room?.enabled && !admitted ? "waiting" : "picking");
  }, [show, fan?.fan_id]);

  const StepView = step === "picking" || step === "checkout" ? lazySteps[step] : undefined;
  useEffect(() => {
    if ((step === "picking" || step === "checkout") && !lazySteps[step]) {
      loadStep[step]().then((component) => {
        lazySteps[step] = component;
        setLoadedSteps((n) => n + 1);
      });
    }
  }, [step]);

  if (loaded.loading) return <Loading />;
  if (!show) return <ProblemMessage error={loaded.error} onRetry={loaded.reload} />;

  const onSaleAtMs = Date.parse(show.on_sale_at);
  const header = (
    <header class="show-header">
      <PageHeading title={t.show.title(show.event_name)}>{show.event_name}</PageHeading>
      <p class="lede">
        {showTime(show.starts_at, show.timezone)} · {t.show.at(show.venue.name, show.venue.city)}
      </p>
    </header>
  );

  let body: preact.ComponentChildren;
  if (show.status === "cancelled") {
    body = (
      <p class="notice notice-warning" role="status">
        {t.show.cancelled}
      </p>
    );
  } else if (!fan) {
    body = (
      <section class="panel narrow">
        <p>{t.signIn.needed}</p>
        <SignInForm />
      </section>
    );
  } else if (step === "waiting") {
    body = (
      <Waiting
        show={show}
        fan={fan}
        onAdmitted={() => setStep("picking")}
        onRoomOff={() => setStep("picking")}
        onWaitlistOffer={() => setStep("picking")}
      />
    );
  } else if (!show.waiting_room?.enabled && onSaleAtMs > serverNow()) {
    body = (
      <section class="panel">
        <p>{t.show.notOnSale(showTime(show.on_sale_at, show.timezone))}</p>
        <Countdown deadlineMs={onSaleAtMs} label={t.show.onSaleIn} onEnd={loaded.reload} urgentBelowMs={0} />
      </section>
    );
  } else if (step && StepView) {
    body = (
      <StepView
        show={show}
        fan={fan}
        checkout={checkout}
        onHeld={(state) => {
          setCheckout(state);
          setStep("checkout");
        }}
        onBackToSeats={() => {
          setCheckout(null);
          setStep("picking");
        }}
        onAdmissionLost={() => setStep("waiting")}
      />
    );
  } else body = <Loading />;

  return (
    <div class="page">
      {header}
      {body}
    </div>
  );
}
