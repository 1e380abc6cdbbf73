import { t } from "../../../i18n";

// Local development and tests have no Stripe.js (it cannot load offline): the fan picks one of
// Stripe's test PaymentMethods and the API confirms server-side against the Stripe stand-in.

export interface TestCard {
  paymentMethod: string;
  label: () => string;
}

export const TEST_CARDS: TestCard[] = [
  { paymentMethod: "pm_card_visa", label: () => t.checkout.cardVisa },
  { paymentMethod: "pm_card_chargeDeclined", label: () => t.checkout.cardDeclined },
  { paymentMethod: "pm_card_authenticationRequired", label: () => t.checkout.cardThreeDSecure },
];
