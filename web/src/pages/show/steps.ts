import type { Show } from "../../api/types";
import type { FanSession } from "../../session";
import type { CheckoutState } from "./checkout-store";

/** What the show page hands to its lazily loaded steps (seat picker, checkout). */
export interface StepProps {
  show: Show;
  fan: FanSession;
  checkout: CheckoutState | null;
  /** Seats are held: the page moves to checkout with this state (already stored). */
  onHeld: (state: CheckoutState) => void;
  /** The hold is gone (released, expired, paid elsewhere): back to the map. */
  onBackToSeats: () => void;
  /** The admission window closed before a hold: back to the queue. */
  onAdmissionLost: () => void;
}
