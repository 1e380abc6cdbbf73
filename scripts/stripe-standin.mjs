// A local stand-in for Stripe's HTTP API (PaymentIntents, Refunds, Charges and signed webhooks)
// that the real `stripe` SDK can be pointed at with `{ host, port, protocol: "http" }`. It answers
// as Stripe's test mode does: the same object shapes, form-encoded parameters, error types and
// codes, test PaymentMethods (pm_card_visa, pm_card_chargeDeclined, …), Idempotency-Key replays
// and webhooks signed with Stripe's scheme and retried with backoff. One extension of its own: a
// test token with a `__<name>` suffix (`pm_card_visa__fan42`) is that test card with a card number
// of its own, so its own `card.fingerprint` — how a load test gives each of thousands of fans a
// card of their own under the per-card cap. Only the parameters it
// models are accepted; anything else gets Stripe's `parameter_unknown` error. State lives in
// memory. Used by the test global setup and `npm run dev`; nothing here runs in production.
//
// Test controls under /_standin/ (no API key needed):
//   GET  /_standin/events[?type=…]              every event so far, oldest first
//   GET  /_standin/events/:id/webhook           that event's webhook request, freshly signed
//   POST /_standin/events/:id/deliver           deliver it again now; answers with the endpoint's status
//   POST /_standin/config                       JSON { autoWebhooks?, webhookUrl? }
//   POST /_standin/payment_intents/:id/succeed  settle asynchronously, as a delayed payment would
//   POST /_standin/payment_intents/:id/fail
//   POST /_standin/refunds/:id/fail              the bank returns a refund: status failed, refund.updated + refund.failed
//   POST /_standin/idempotency/expire           JSON { key }: forget a saved Idempotency-Key result, as Stripe does after 24 h
//   POST /_standin/faults                       JSON { operation, status?, count?, match?, after? }: the next `count`
//                                               API calls of that operation (e.g. "createRefund") whose parameters
//                                               include every `match` entry answer `status` (500 by default). Stripe
//                                               saves such a result under the call's Idempotency-Key, so a retry with
//                                               that key gets it again. `after: true` runs the call first and loses its
//                                               answer, as a timeout would. Match narrowly: every test file shares one
//                                               stand-in.
//   POST /_standin/outage                       JSON { mode: "5xx" | "hang" | "off", ms? }: Stripe itself is down. Every
//                                               API call answers 503 (5xx) or is never answered (hang) until `ms` have
//                                               passed or mode "off"; hung calls are then dropped unanswered. Unlike
//                                               faults it hits every caller: point only one test file at such a stand-in.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Stripe from "stripe";

const API_VERSION = Stripe.API_VERSION;
const WEBHOOK_ATTEMPTS = 5;
const WEBHOOK_FIRST_RETRY_MS = 200;
const WEBHOOK_TIMEOUT_MS = 10_000;
const NO_API_REQUEST = Object.freeze({ id: null, idempotency_key: null });

// Stripe's test PaymentMethods (https://docs.stripe.com/testing#cards). Confirming with one
// creates a fresh `pm_…` PaymentMethod that keeps the card's behaviour, as Stripe does.
const TEST_CARDS = {
  pm_card_visa: { brand: "visa", last4: "4242" },
  pm_card_mastercard: { brand: "mastercard", last4: "4444" },
  pm_card_chargeDeclined: { brand: "visa", last4: "0002", declineCode: "generic_decline" },
  pm_card_visa_chargeDeclined: { brand: "visa", last4: "0002", declineCode: "generic_decline" },
  pm_card_chargeDeclinedInsufficientFunds: { brand: "visa", last4: "9995", declineCode: "insufficient_funds" },
  pm_card_chargeDeclinedExpiredCard: { brand: "visa", last4: "0069", declineCode: "expired_card" },
  pm_card_authenticationRequired: { brand: "visa", last4: "3184", requiresAuthentication: true },
};

const DECLINES = {
  generic_decline: {
    code: "card_declined",
    message: "Your card was declined.",
    sellerMessage: "The bank did not return any further details with this decline.",
  },
  insufficient_funds: {
    code: "card_declined",
    message: "Your card has insufficient funds.",
    sellerMessage: "The bank returned the decline code `insufficient_funds`.",
  },
  expired_card: {
    code: "expired_card",
    message: "Your card has expired.",
    sellerMessage: "The bank returned the decline code `expired_card`.",
  },
};

// Minimum charge amounts in the smallest currency unit (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
const MINIMUM_CHARGE = { aud: 50, cad: 50, chf: 50, dkk: 250, eur: 50, gbp: 30, jpy: 50, nok: 300, sek: 300, usd: 50 };
const MAXIMUM_CHARGE = 99_999_999;

const CONFIRMABLE = ["requires_payment_method", "requires_confirmation", "requires_action"];
const CANCELABLE = [
  "requires_payment_method",
  "requires_capture",
  "requires_confirmation",
  "requires_action",
  "processing",
];
const CANCELLATION_REASONS = ["abandoned", "duplicate", "fraudulent", "requested_by_customer"];
const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"];
const EXPANDABLE = {
  payment_intent: ["latest_charge", "payment_method"],
  charge: ["payment_intent", "payment_method"],
  refund: ["charge", "payment_intent"],
  payment_method: [],
  list: [],
};

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomAlphanumeric(length) {
  return Array.from(randomBytes(length), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join("");
}

const newId = (prefix, length = 24) => `${prefix}_${randomAlphanumeric(length)}`;

const now = () => Math.floor(Date.now() / 1000);
const json = (value) => JSON.stringify(value, null, 2);
const sortKeys = (object) =>
  Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const listOf = (items) => (items.length > 1 ? `${items.slice(0, -1).join(", ")}, or ${items.at(-1)}` : items[0]);

function formatAmount(amount, currency) {
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency });
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

/** Stripe's error object: keys sorted as the API sends them, `doc_url` derived from `code`. */
function errorObject(fields) {
  const docUrl = fields.code && `https://stripe.com/docs/error-codes/${fields.code.replaceAll("_", "-")}`;
  return sortKeys({ ...fields, ...(docUrl && { doc_url: docUrl }) });
}

/** An API error answered as `{ error: { type, code, message, param, … } }`. */
class ApiError extends Error {
  /**
   * `executed` is false for errors raised before the endpoint began work (bad parameters,
   * unknown objects): Stripe saves no idempotent result for those, so a retry runs afresh.
   */
  constructor(status, fields, { executed = true } = {}) {
    super(fields.message);
    this.status = status;
    this.fields = fields;
    this.executed = executed;
  }

  get body() {
    return json({ error: errorObject(this.fields) });
  }
}

const invalidParam = (param, message, code) =>
  new ApiError(400, { type: "invalid_request_error", code, message, param }, { executed: false });

const unexpectedState = (message, intent) =>
  new ApiError(400, {
    type: "invalid_request_error",
    code: "payment_intent_unexpected_state",
    message,
    payment_intent: structuredClone(intent),
  });

function required(value, param) {
  if (value === undefined) throw invalidParam(param, `Missing required param: ${param}.`, "parameter_missing");
  return value;
}

function rejectUnknownParams(params, known, parent) {
  const unknown = Object.keys(params).find((name) => !known.includes(name));
  if (!unknown) return;
  const param = parent ? `${parent}[${unknown}]` : unknown;
  throw invalidParam(param, `Received unknown parameter: ${param}`, "parameter_unknown");
}

function asString(value, param) {
  if (value === undefined || typeof value === "string") return value;
  throw invalidParam(param, `Invalid string: ${JSON.stringify(value)}`);
}

function asInteger(value, param) {
  const text = asString(value, param);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw invalidParam(param, `Invalid integer: ${text}`, "parameter_invalid_integer");
  return Number(text);
}

function asBoolean(value, param) {
  const text = asString(value, param);
  if (text === undefined) return undefined;
  if (text !== "true" && text !== "false") throw invalidParam(param, `Invalid boolean: ${text}`);
  return text === "true";
}

function asEnum(value, param, allowed) {
  const text = asString(value, param);
  if (text === undefined || allowed.includes(text)) return text;
  throw invalidParam(param, `Invalid ${param}: must be one of ${listOf(allowed)}`);
}

function asStringArray(value, param) {
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw invalidParam(param, "Invalid array");
}

function asCurrency(value) {
  const currency = asString(value, "currency");
  if (!/^[a-z]{3}$/i.test(currency)) throw invalidParam("currency", `Invalid currency: ${currency}.`);
  return currency.toLowerCase();
}

function checkChargeAmount(amount, currency) {
  const minimum = MINIMUM_CHARGE[currency] ?? 50;
  if (amount < minimum) {
    throw invalidParam(
      "amount",
      `Amount must be at least ${formatAmount(minimum, currency)} ${currency}`,
      "amount_too_small",
    );
  }
  if (amount > MAXIMUM_CHARGE) {
    throw invalidParam(
      "amount",
      `Amount must be no more than ${formatAmount(MAXIMUM_CHARGE, currency)}`,
      "amount_too_large",
    );
  }
}

/** Applies a `metadata` parameter as Stripe does: keys merge, an empty value unsets a key, `metadata=` clears all. */
function mergeMetadata(current, update) {
  if (update === undefined) return current;
  if (update === "") return {};
  if (typeof update !== "object" || Array.isArray(update)) throw invalidParam("metadata", "Invalid object");
  const merged = { ...current };
  for (const [key, value] of Object.entries(update)) {
    const param = `metadata[${key}]`;
    if (typeof value !== "string") throw invalidParam(param, `Invalid string: ${JSON.stringify(value)}`);
    if (key.length > 40) {
      throw invalidParam(
        param,
        `Metadata keys can have up to 40 characters, but you passed in a key that is ${key.length} characters. Invalid key: ${key}`,
      );
    }
    if (value.length > 500) {
      throw invalidParam(
        param,
        `Metadata values can have up to 500 characters, but you passed in a value that is ${value.length} characters. Invalid value: ${value}`,
      );
    }
    if (value === "") delete merged[key];
    else merged[key] = value;
  }
  if (Object.keys(merged).length > 50) throw invalidParam("metadata", "You can have up to 50 metadata keys.");
  return merged;
}

/** `automatic_payment_methods` and `payment_method_types` exclude each other; with neither, Stripe enables the former. */
function paymentMethodConfiguration(params) {
  const { automatic_payment_methods: automatic, payment_method_types: types } = params;
  if (automatic !== undefined && types !== undefined) {
    throw invalidParam(
      undefined,
      "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
    );
  }
  if (types !== undefined) {
    return { automatic_payment_methods: null, payment_method_types: asStringArray(types, "payment_method_types") };
  }
  if (automatic === undefined) {
    return { automatic_payment_methods: { allow_redirects: "always", enabled: true }, payment_method_types: ["card"] };
  }
  if (typeof automatic !== "object" || Array.isArray(automatic)) {
    throw invalidParam("automatic_payment_methods", "Invalid object");
  }
  rejectUnknownParams(automatic, ["allow_redirects", "enabled"], "automatic_payment_methods");
  const enabled = asBoolean(
    required(automatic.enabled, "automatic_payment_methods[enabled]"),
    "automatic_payment_methods[enabled]",
  );
  const allowRedirects = asEnum(automatic.allow_redirects, "automatic_payment_methods[allow_redirects]", [
    "always",
    "never",
  ]);
  return {
    automatic_payment_methods: enabled ? { allow_redirects: allowRedirects ?? "always", enabled } : null,
    payment_method_types: ["card"],
  };
}

/**
 * Decodes Stripe's form encoding: brackets nest (`metadata[order_id]=ord_1`), and numeric or
 * empty brackets index arrays (`payment_method_types[0]=card`, `expand[]=latest_charge`).
 * Hashes have no prototype, so a `__proto__[…]` key is just a key.
 */
function parseForm(text) {
  const params = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    const segments = match ? [match[1], ...Array.from(match[2].matchAll(/\[([^[\]]*)\]/g), (m) => m[1])] : [key];
    let node = params;
    for (const [depth, segment] of segments.entries()) {
      const slot = Array.isArray(node) ? arrayIndex(node, segment, segments[0]) : segment;
      if (depth === segments.length - 1) {
        if (typeof node[slot] === "object") throw invalidParam(segments[0], `Invalid value for ${key}`);
        node[slot] = value;
        break;
      }
      const wantsArray = segments[depth + 1] === "" || /^\d+$/.test(segments[depth + 1]);
      node[slot] ??= wantsArray ? [] : Object.create(null);
      if (typeof node[slot] !== "object" || Array.isArray(node[slot]) !== wantsArray) {
        throw invalidParam(segments[0], wantsArray ? "Invalid array" : "Invalid hash");
      }
      node = node[slot];
    }
  }
  return params;
}

function arrayIndex(array, segment, param) {
  if (segment === "") return array.length;
  if (/^\d+$/.test(segment)) return Number(segment);
  throw invalidParam(param, "Invalid array");
}

/** Canonical form of a request's parameters, so an idempotent retry matches whatever the key order. */
const fingerprint = (params) =>
  JSON.stringify(params, (_, value) =>
    value && typeof value === "object" && !Array.isArray(value) ? sortKeys(value) : value,
  );

/**
 * Stripe's `card.fingerprint`: the same for every PaymentMethod of one card number, whoever uses
 * it. The test tokens of one card number (pm_card_chargeDeclined, pm_card_visa_chargeDeclined)
 * share it, as they share the number.
 */
const cardFingerprint = (card) =>
  createHash("sha256")
    .update(`onsale-standin:${card.brand}:${card.last4}${card.cardName ? `:${card.cardName}` : ""}`)
    .digest("base64url")
    .replace(/[-_]/g, "")
    .slice(0, 16);

function paymentMethodObject(card) {
  return {
    id: newId("pm"),
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
    },
    card: {
      brand: card.brand,
      country: "US",
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: cardFingerprint(card),
      funding: "credit",
      last4: card.last4,
    },
    created: now(),
    customer: null,
    livemode: false,
    metadata: {},
    type: "card",
  };
}

/** The objects of one test-mode Stripe account and the operations of its API. */
class TestModeAccount {
  paymentIntents = new Map();
  charges = new Map();
  refunds = new Map();
  /** id → { object, card }: the PaymentMethod and the test card whose behaviour it has. */
  paymentMethods = new Map();
  events = [];

  constructor(onEvent) {
    this.onEvent = onEvent;
  }

  find(id) {
    return (
      this.paymentIntents.get(id) ?? this.charges.get(id) ?? this.refunds.get(id) ?? this.paymentMethods.get(id)?.object
    );
  }

  mustFind(objects, kind, id, { param = "id", status = 404 } = {}) {
    const object = objects.get(id);
    if (object) return object;
    throw new ApiError(
      status,
      { type: "invalid_request_error", code: "resource_missing", message: `No such ${kind}: '${id}'`, param },
      { executed: false },
    );
  }

  paymentIntent(id) {
    return this.mustFind(this.paymentIntents, "payment_intent", id, { param: "intent" });
  }

  charge(id) {
    return this.mustFind(this.charges, "charge", id);
  }

  refund(id) {
    return this.mustFind(this.refunds, "refund", id);
  }

  event(id) {
    const event = this.events.find((candidate) => candidate.id === id);
    if (event) return event;
    throw new ApiError(
      404,
      { type: "invalid_request_error", code: "resource_missing", message: `No such event: '${id}'`, param: "id" },
      { executed: false },
    );
  }

  /** A test token (`pm_card_visa`) becomes a new PaymentMethod; a `pm_…` id must exist. */
  resolvePaymentMethod(value) {
    const id = asString(value, "payment_method");
    const [, base, cardName] = /^(pm_card_[A-Za-z]+)__([A-Za-z0-9_]{1,40})$/.exec(id) ?? [];
    const card = base && TEST_CARDS[base] ? { ...TEST_CARDS[base], cardName } : TEST_CARDS[id];
    if (!card) return this.mustFind(this.paymentMethods, "PaymentMethod", id, { param: "payment_method", status: 400 });
    const method = { object: paymentMethodObject(card), card };
    this.paymentMethods.set(method.object.id, method);
    return method;
  }

  emit(type, object, request) {
    const event = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: now(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request,
      type,
    };
    this.events.push(event);
    this.onEvent(event);
  }

  retrievePaymentIntent({ id, params }) {
    rejectUnknownParams(params, []);
    return this.paymentIntent(id);
  }

  /** A test token (`pm_card_visa`) answers as a fresh PaymentMethod of that card, as Stripe's test mode does. */
  retrievePaymentMethod({ id, params }) {
    rejectUnknownParams(params, []);
    return this.resolvePaymentMethod(id).object;
  }

  retrieveCharge({ id, params }) {
    rejectUnknownParams(params, []);
    return this.charge(id);
  }

  retrieveRefund({ id, params }) {
    rejectUnknownParams(params, []);
    return this.refund(id);
  }

  /** Newest first, as Stripe lists; filtered by `payment_intent` or `charge` when given. */
  listRefunds({ params }) {
    rejectUnknownParams(params, ["charge", "limit", "payment_intent"]);
    const limit = asInteger(params.limit, "limit") ?? 10;
    if (limit < 1 || limit > 100) throw invalidParam("limit", "This value must be between 1 and 100.");
    const intentId = asString(params.payment_intent, "payment_intent");
    const chargeId = asString(params.charge, "charge");
    const matching = [...this.refunds.values()]
      .filter(
        (refund) => (!intentId || refund.payment_intent === intentId) && (!chargeId || refund.charge === chargeId),
      )
      .reverse();
    return { object: "list", data: matching.slice(0, limit), has_more: matching.length > limit, url: "/v1/refunds" };
  }

  /** The bank sent a refund back (closed card account): Stripe marks it failed and the money returns to the balance. */
  simulateRefundFailure(id) {
    const refund = this.refund(id);
    if (refund.status === "failed" || refund.status === "canceled") return refund;
    const charge = this.charges.get(refund.charge);
    charge.amount_refunded -= refund.amount;
    charge.refunded = false;
    Object.assign(refund, { status: "failed", failure_reason: "expired_or_canceled_card" });
    this.emit("refund.updated", refund, NO_API_REQUEST);
    this.emit("refund.failed", refund, NO_API_REQUEST);
    return refund;
  }

  createPaymentIntent({ params, request }) {
    rejectUnknownParams(params, [
      "amount",
      "automatic_payment_methods",
      "capture_method",
      "confirm",
      "currency",
      "description",
      "metadata",
      "payment_method",
      "payment_method_types",
      "receipt_email",
      "statement_descriptor_suffix",
    ]);
    const amount = asInteger(required(params.amount, "amount"), "amount");
    const currency = asCurrency(required(params.currency, "currency"));
    checkChargeAmount(amount, currency);
    const captureMethod =
      asEnum(params.capture_method, "capture_method", ["automatic", "automatic_async", "manual"]) ?? "automatic_async";
    if (captureMethod === "manual") {
      throw invalidParam(
        "capture_method",
        "The Stripe stand-in models automatic capture only (automatic or automatic_async).",
      );
    }
    const methods = paymentMethodConfiguration(params);
    const metadata = mergeMetadata({}, params.metadata);
    const confirm = asBoolean(params.confirm, "confirm") ?? false;
    const paymentMethod =
      params.payment_method === undefined ? undefined : this.resolvePaymentMethod(params.payment_method);
    if (confirm && !paymentMethod) {
      throw invalidParam("payment_method", "Missing required param: payment_method.", "parameter_missing");
    }

    const id = newId("pi");
    const intent = {
      id,
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: methods.automatic_payment_methods,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomAlphanumeric(25)}`,
      confirmation_method: "automatic",
      created: now(),
      currency,
      customer: null,
      description: asString(params.description, "description") || null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata,
      next_action: null,
      on_behalf_of: null,
      payment_method: paymentMethod?.object.id ?? null,
      payment_method_options: {},
      payment_method_types: methods.payment_method_types,
      processing: null,
      receipt_email: asString(params.receipt_email, "receipt_email") || null,
      review: null,
      setup_future_usage: null,
      shipping: null,
      source: null,
      statement_descriptor: null,
      statement_descriptor_suffix: asString(params.statement_descriptor_suffix, "statement_descriptor_suffix") || null,
      status: paymentMethod ? "requires_confirmation" : "requires_payment_method",
      transfer_data: null,
      transfer_group: null,
    };
    this.paymentIntents.set(id, intent);
    if (confirm) this.attemptPayment(intent, paymentMethod, request);
    return intent;
  }

  updatePaymentIntent({ id, params }) {
    rejectUnknownParams(params, ["description", "metadata", "receipt_email"]);
    const intent = this.paymentIntent(id);
    const metadata = mergeMetadata(intent.metadata, params.metadata);
    const description = asString(params.description, "description");
    const receiptEmail = asString(params.receipt_email, "receipt_email");
    intent.metadata = metadata;
    if (description !== undefined) intent.description = description || null;
    if (receiptEmail !== undefined) intent.receipt_email = receiptEmail || null;
    return intent;
  }

  confirmPaymentIntent({ id, params, request }) {
    rejectUnknownParams(params, ["payment_method"]);
    const intent = this.paymentIntent(id);
    const paymentMethod =
      params.payment_method === undefined
        ? this.paymentMethods.get(intent.payment_method)
        : this.resolvePaymentMethod(params.payment_method);
    if (intent.status === "succeeded") {
      throw unexpectedState(
        "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
        intent,
      );
    }
    if (!CONFIRMABLE.includes(intent.status)) {
      throw unexpectedState(
        `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(", ")}.`,
        intent,
      );
    }
    if (!paymentMethod) {
      throw unexpectedState(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        intent,
      );
    }
    this.attemptPayment(intent, paymentMethod, request);
    return intent;
  }

  cancelPaymentIntent({ id, params, request }) {
    rejectUnknownParams(params, ["cancellation_reason"]);
    const reason = asEnum(params.cancellation_reason, "cancellation_reason", CANCELLATION_REASONS) ?? null;
    const intent = this.paymentIntent(id);
    if (!CANCELABLE.includes(intent.status)) {
      throw unexpectedState(
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
        intent,
      );
    }
    Object.assign(intent, { status: "canceled", canceled_at: now(), cancellation_reason: reason, next_action: null });
    this.emit("payment_intent.canceled", intent, request);
    return intent;
  }

  createRefund({ params, request }) {
    rejectUnknownParams(params, ["amount", "metadata", "payment_intent", "reason"]);
    const intentId = asString(required(params.payment_intent, "payment_intent"), "payment_intent");
    const intent = this.mustFind(this.paymentIntents, "payment_intent", intentId, {
      param: "payment_intent",
      status: 400,
    });
    const amount = asInteger(params.amount, "amount");
    if (amount !== undefined && amount <= 0) throw invalidParam("amount", "Invalid positive integer");
    const reason = asEnum(params.reason, "reason", REFUND_REASONS) ?? null;
    const metadata = mergeMetadata({}, params.metadata);
    if (intent.status !== "succeeded") {
      throw new ApiError(400, {
        type: "invalid_request_error",
        code: "payment_intent_unexpected_state",
        message: `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`,
        param: "payment_intent",
      });
    }
    const charge = this.charges.get(intent.latest_charge);
    const unrefunded = charge.amount - charge.amount_refunded;
    if (unrefunded === 0) {
      throw new ApiError(400, {
        type: "invalid_request_error",
        code: "charge_already_refunded",
        message: `Charge ${charge.id} has already been refunded.`,
      });
    }
    if (amount > unrefunded) {
      throw new ApiError(400, {
        type: "invalid_request_error",
        code: "amount_too_large",
        message: `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(unrefunded, charge.currency)})`,
        param: "amount",
      });
    }
    const refund = {
      id: newId("re"),
      object: "refund",
      amount: amount ?? unrefunded,
      balance_transaction: newId("txn"),
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      destination_details: {
        card: { reference_status: "pending", reference_type: "acquirer_reference_number", type: "refund" },
        type: "card",
      },
      metadata,
      payment_intent: intent.id,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: "succeeded",
      transfer_reversal: null,
    };
    this.refunds.set(refund.id, refund);
    charge.amount_refunded += refund.amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    this.emit("charge.refunded", charge, request);
    this.emit("refund.created", refund, request);
    return refund;
  }

  /** Settles a PaymentIntent as an asynchronous payment method eventually would. */
  simulateSuccess(id) {
    const intent = this.settleable(id, "succeed");
    const paymentMethod = this.paymentMethods.get(intent.payment_method) ?? this.resolvePaymentMethod("pm_card_visa");
    this.completePayment(intent, paymentMethod, NO_API_REQUEST);
    return intent;
  }

  /** Fails the pending attempt: a failed 3D Secure challenge, or else a generic decline. */
  simulateFailure(id) {
    const intent = this.settleable(id, "fail");
    const paymentMethod =
      this.paymentMethods.get(intent.payment_method) ?? this.resolvePaymentMethod("pm_card_chargeDeclined");
    if (intent.status !== "requires_action") {
      this.declinePayment(intent, paymentMethod, "generic_decline", NO_API_REQUEST);
      return intent;
    }
    Object.assign(intent, {
      status: "requires_payment_method",
      payment_method: null,
      next_action: null,
      last_payment_error: errorObject({
        type: "invalid_request_error",
        code: "payment_intent_authentication_failure",
        message:
          "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
        payment_method: paymentMethod.object,
      }),
    });
    this.emit("payment_intent.payment_failed", intent, NO_API_REQUEST);
    return intent;
  }

  settleable(id, verb) {
    const intent = this.paymentIntent(id);
    if (CONFIRMABLE.includes(intent.status)) return intent;
    throw unexpectedState(`You cannot ${verb} this PaymentIntent because it has a status of ${intent.status}.`, intent);
  }

  attemptPayment(intent, paymentMethod, request) {
    const { card } = paymentMethod;
    if (card.declineCode) throw this.declinePayment(intent, paymentMethod, card.declineCode, request);
    if (card.requiresAuthentication) {
      Object.assign(intent, {
        status: "requires_action",
        payment_method: paymentMethod.object.id,
        last_payment_error: null,
        next_action: { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect" } },
      });
      return;
    }
    this.completePayment(intent, paymentMethod, request);
  }

  completePayment(intent, paymentMethod, request) {
    const charge = this.newCharge(intent, paymentMethod);
    Object.assign(intent, {
      status: "succeeded",
      amount_received: intent.amount,
      latest_charge: charge.id,
      payment_method: paymentMethod.object.id,
      last_payment_error: null,
      next_action: null,
    });
    this.emit("payment_intent.succeeded", intent, request);
  }

  /** Records a declined charge and returns the 402 card error Stripe answers the confirm with. */
  declinePayment(intent, paymentMethod, declineCode, request) {
    const decline = { declineCode, ...DECLINES[declineCode] };
    const charge = this.newCharge(intent, paymentMethod, decline);
    const error = {
      type: "card_error",
      code: decline.code,
      decline_code: declineCode,
      message: decline.message,
      charge: charge.id,
      payment_method: paymentMethod.object,
    };
    // The PaymentIntent lets go of the failed PaymentMethod; last_payment_error keeps it.
    Object.assign(intent, {
      status: "requires_payment_method",
      latest_charge: charge.id,
      payment_method: null,
      next_action: null,
      last_payment_error: errorObject(error),
    });
    this.emit("payment_intent.payment_failed", intent, request);
    return new ApiError(402, { ...error, payment_intent: structuredClone(intent) });
  }

  newCharge(intent, { object: paymentMethod }, decline) {
    const charge = {
      id: newId("ch"),
      object: "charge",
      amount: intent.amount,
      amount_captured: decline ? 0 : intent.amount,
      amount_refunded: 0,
      balance_transaction: decline ? null : newId("txn"),
      billing_details: paymentMethod.billing_details,
      captured: !decline,
      created: now(),
      currency: intent.currency,
      customer: null,
      description: intent.description,
      disputed: false,
      failure_code: decline?.code ?? null,
      failure_message: decline?.message ?? null,
      livemode: false,
      metadata: { ...intent.metadata },
      outcome: decline
        ? {
            network_status: "declined_by_network",
            reason: decline.declineCode,
            risk_level: "normal",
            seller_message: decline.sellerMessage,
            type: "issuer_declined",
          }
        : {
            network_status: "approved_by_network",
            reason: null,
            risk_level: "normal",
            seller_message: "Payment complete.",
            type: "authorized",
          },
      paid: !decline,
      payment_intent: intent.id,
      payment_method: paymentMethod.id,
      payment_method_details: { card: { ...paymentMethod.card }, type: "card" },
      receipt_email: intent.receipt_email,
      refunded: false,
      status: decline ? "failed" : "succeeded",
    };
    this.charges.set(charge.id, charge);
    return charge;
  }
}

const route = (method, template, fields) => ({
  method,
  pattern: new RegExp(`^${template.replace(":id", "([^/]+)")}$`),
  ...fields,
});

// Each endpoint names the TestModeAccount operation it runs and the object type it answers
// with, which decides what `expand` may name.
const API_ROUTES = [
  route("POST", "/v1/payment_intents", { operation: "createPaymentIntent", returns: "payment_intent" }),
  route("GET", "/v1/payment_intents/:id", { operation: "retrievePaymentIntent", returns: "payment_intent" }),
  route("POST", "/v1/payment_intents/:id", { operation: "updatePaymentIntent", returns: "payment_intent" }),
  route("POST", "/v1/payment_intents/:id/confirm", { operation: "confirmPaymentIntent", returns: "payment_intent" }),
  route("POST", "/v1/payment_intents/:id/cancel", { operation: "cancelPaymentIntent", returns: "payment_intent" }),
  route("POST", "/v1/refunds", { operation: "createRefund", returns: "refund" }),
  route("GET", "/v1/refunds", { operation: "listRefunds", returns: "list" }),
  route("GET", "/v1/refunds/:id", { operation: "retrieveRefund", returns: "refund" }),
  route("GET", "/v1/charges/:id", { operation: "retrieveCharge", returns: "charge" }),
  route("GET", "/v1/payment_methods/:id", { operation: "retrievePaymentMethod", returns: "payment_method" }),
];

function matchRoute(routes, method, pathname) {
  for (const candidate of routes) {
    const match = candidate.method === method && candidate.pattern.exec(pathname);
    if (match) return { route: candidate, id: match[1] && decodeURIComponent(match[1]) };
  }
  return undefined;
}

function apiKey(authorization = "") {
  const [scheme, credential = ""] = authorization.split(" ");
  if (scheme === "Bearer") return credential;
  // `curl -u sk_test_…:` sends the key as the Basic username, which Stripe accepts too.
  if (scheme === "Basic") return Buffer.from(credential, "base64").toString().split(":")[0];
  return "";
}

function authenticate(authorization) {
  const key = apiKey(authorization);
  if (!key) {
    throw new ApiError(401, {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  if (!key.startsWith("sk_test_")) {
    const redacted = `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
    throw new ApiError(401, { type: "invalid_request_error", message: `Invalid API Key provided: ${redacted}` });
  }
}

async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the stand-in on 127.0.0.1.
 * @param {object} options
 * @param {number} [options.port] 0 picks a free port.
 * @param {string} [options.webhookUrl] where events are POSTed; without it they are only recorded.
 * @param {string} options.webhookSecret the endpoint's signing secret (`whsec_…`).
 * @param {boolean} [options.autoWebhooks] deliver each event as it happens (default true).
 * @param {(line: string) => void} [options.log]
 */
export async function startStripeStandin({ port = 0, webhookUrl, webhookSecret, autoWebhooks = true, log = () => {} }) {
  if (!webhookSecret) {
    throw new TypeError("startStripeStandin needs the webhookSecret (whsec_…) that signs its webhooks");
  }
  const config = { webhookUrl, autoWebhooks };
  const shutdown = new AbortController();
  const idempotentResults = new Map();
  /** Injected failures, see POST /_standin/faults. */
  let faults = [];
  /** A whole-API outage, see POST /_standin/outage; `hung` holds the calls a "hang" never answers. */
  let outage = { mode: "off", until: Number.POSITIVE_INFINITY };
  const hung = new Set();
  function outageMode() {
    if (outage.mode !== "off" && Date.now() >= outage.until) endOutage();
    return outage.mode;
  }
  function endOutage() {
    outage = { mode: "off", until: Number.POSITIVE_INFINITY };
    for (const response of hung) response.destroy();
    hung.clear();
  }
  const account = new TestModeAccount((event) => {
    // setImmediate runs after the response to the request that caused the event is written.
    if (config.autoWebhooks && config.webhookUrl) setImmediate(() => deliverWithRetries(event));
  });

  function signedWebhook(event) {
    const body = json(event);
    const timestamp = now();
    const signature = createHmac("sha256", webhookSecret).update(`${timestamp}.${body}`).digest("hex");
    return {
      body,
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": `t=${timestamp},v1=${signature}`,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      },
    };
  }

  async function postWebhook(event, url) {
    const { body, headers } = signedWebhook(event);
    const response = await fetch(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
    });
    return { status: response.status, body: await response.text() };
  }

  async function deliverWithRetries(event) {
    for (let attempt = 1; config.webhookUrl; attempt++) {
      let failure;
      try {
        const { status } = await postWebhook(event, config.webhookUrl);
        if (status >= 200 && status < 300) {
          log(`webhook ${event.type} ${event.id} → ${status}`);
          return;
        }
        failure = `HTTP ${status}`;
      } catch (error) {
        if (shutdown.signal.aborted) return;
        failure = error.cause?.message ?? error.message;
      }
      if (attempt === WEBHOOK_ATTEMPTS) {
        log(`webhook ${event.type} ${event.id} gave up after ${attempt} attempts: ${failure}`);
        return;
      }
      log(`webhook ${event.type} ${event.id} attempt ${attempt} failed (${failure}); retrying`);
      try {
        await sleep(WEBHOOK_FIRST_RETRY_MS * 2 ** (attempt - 1), undefined, { signal: shutdown.signal });
      } catch {
        return;
      }
    }
  }

  function takeFault(operation, id, params) {
    const fault = faults.find(
      (candidate) =>
        candidate.operation === operation &&
        candidate.count > 0 &&
        Object.entries(candidate.match).every(([name, value]) => (name === "id" ? id : params[name]) === value),
    );
    if (!fault) return undefined;
    fault.count--;
    faults = faults.filter((candidate) => candidate.count > 0);
    return fault;
  }

  function runEndpoint({ route: endpoint, id }, params, request, { faults: injectable = true } = {}) {
    const fault = injectable && takeFault(endpoint.operation, id, params);
    if (fault) {
      if (fault.after) runEndpoint({ route: endpoint, id }, params, request, { faults: false });
      const error = new ApiError(fault.status, {
        type: "api_error",
        message: "An unknown error occurred (injected by the Stripe stand-in).",
      });
      return { status: error.status, body: error.body, saved: true };
    }
    const { expand = [], ...rest } = params;
    const expansions = asStringArray(expand, "expand");
    const notExpandable = expansions.find((field) => !EXPANDABLE[endpoint.returns].includes(field));
    if (notExpandable) throw invalidParam("expand", `This property cannot be expanded (${notExpandable}).`);
    try {
      const object = structuredClone(account[endpoint.operation]({ id, params: rest, request }));
      for (const field of expansions) {
        if (typeof object[field] === "string") object[field] = structuredClone(account.find(object[field]));
      }
      return { status: 200, body: json(object), saved: true };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { status: error.status, body: error.body, saved: error.executed };
    }
  }

  /** Runs synchronously once the body is read, so an idempotency check and its execution never interleave. */
  function handleApi(request, url, rawBody, requestId) {
    authenticate(request.headers.authorization);
    const found = matchRoute(API_ROUTES, request.method, url.pathname);
    if (!found) {
      throw new ApiError(404, {
        type: "invalid_request_error",
        message: `Unrecognized request URL (${request.method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    }
    const params = parseForm(request.method === "POST" ? rawBody : url.search);
    const key = request.method === "POST" ? request.headers["idempotency-key"] : undefined;
    if (key === undefined) return runEndpoint(found, params, { id: requestId, idempotency_key: null });

    const endpoint = `${request.method} ${url.pathname}`;
    const saved = idempotentResults.get(key);
    if (saved) {
      const mismatch =
        saved.endpoint !== endpoint
          ? `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.endpoint}' vs '${endpoint}').`
          : saved.fingerprint !== fingerprint(params)
            ? "Keys for idempotent requests can only be used with the same parameters they were first used with."
            : undefined;
      if (mismatch) {
        throw new ApiError(400, {
          type: "idempotency_error",
          message: `${mismatch} Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      return {
        ...saved.response,
        headers: { "Idempotency-Key": key, "Idempotent-Replayed": "true", "Original-Request": saved.requestId },
      };
    }
    const response = runEndpoint(found, params, { id: requestId, idempotency_key: key });
    if (response.saved) idempotentResults.set(key, { endpoint, fingerprint: fingerprint(params), requestId, response });
    return { ...response, headers: { "Idempotency-Key": key } };
  }

  function listEvents({ url }) {
    const type = url.searchParams.get("type");
    const data = account.events.filter((event) => !type || event.type === type);
    return { body: { object: "list", data, has_more: false, url: "/_standin/events" } };
  }

  /** The request a delivery would send now, so tests can hand it to a Worker that has no URL. */
  function showWebhook({ id }) {
    return { body: { url: config.webhookUrl ?? null, method: "POST", ...signedWebhook(account.event(id)) } };
  }

  async function redeliver({ id }) {
    const event = account.event(id);
    const url = config.webhookUrl;
    if (!url) {
      throw new ApiError(409, {
        type: "invalid_request_error",
        message: "No webhook URL is configured; set one with POST /_standin/config.",
      });
    }
    try {
      const response = await postWebhook(event, url);
      return {
        status: response.status,
        body: { event: event.id, url, status: response.status, response: response.body },
      };
    } catch (error) {
      throw new ApiError(502, {
        type: "api_error",
        message: `Webhook delivery to ${url} failed: ${error.cause?.message ?? error.message}`,
      });
    }
  }

  function configure({ rawBody }) {
    let update;
    try {
      update = JSON.parse(rawBody || "{}");
    } catch (error) {
      throw invalidParam(undefined, `Invalid JSON: ${error.message}`);
    }
    if (update.autoWebhooks !== undefined && typeof update.autoWebhooks !== "boolean") {
      throw invalidParam("autoWebhooks", "autoWebhooks must be a boolean");
    }
    if (update.webhookUrl !== undefined && update.webhookUrl !== null && !URL.canParse(update.webhookUrl)) {
      throw invalidParam("webhookUrl", "webhookUrl must be an absolute URL, or null to stop delivering");
    }
    if (update.autoWebhooks !== undefined) config.autoWebhooks = update.autoWebhooks;
    if (update.webhookUrl !== undefined) config.webhookUrl = update.webhookUrl ?? undefined;
    return { body: { autoWebhooks: config.autoWebhooks, webhookUrl: config.webhookUrl ?? null } };
  }

  function injectFault({ rawBody }) {
    let fault;
    try {
      fault = JSON.parse(rawBody || "{}");
    } catch (error) {
      throw invalidParam(undefined, `Invalid JSON: ${error.message}`);
    }
    const operations = API_ROUTES.map((candidate) => candidate.operation);
    if (!operations.includes(fault.operation)) {
      throw invalidParam("operation", `operation must be one of ${listOf(operations)}`);
    }
    const status = fault.status ?? 500;
    const count = fault.count ?? 1;
    const match = fault.match ?? {};
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw invalidParam("status", "status must be 4xx or 5xx");
    if (!Number.isInteger(count) || count < 1) throw invalidParam("count", "count must be a positive integer");
    if (typeof match !== "object" || Array.isArray(match) || Object.keys(match).length === 0) {
      throw invalidParam("match", "match must name at least one parameter (every test file shares this stand-in)");
    }
    faults.push({ operation: fault.operation, status, count, match, after: fault.after === true });
    return { body: { operation: fault.operation, status, count, match, after: fault.after === true } };
  }

  const controlRoutes = [
    route("GET", "/_standin/events", { handle: listEvents }),
    route("GET", "/_standin/events/:id/webhook", { handle: showWebhook }),
    route("POST", "/_standin/events/:id/deliver", { handle: redeliver }),
    route("POST", "/_standin/config", { handle: configure }),
    route("POST", "/_standin/payment_intents/:id/succeed", {
      handle: ({ id }) => ({ body: account.simulateSuccess(id) }),
    }),
    route("POST", "/_standin/payment_intents/:id/fail", {
      handle: ({ id }) => ({ body: account.simulateFailure(id) }),
    }),
    route("POST", "/_standin/refunds/:id/fail", {
      handle: ({ id }) => ({ body: account.simulateRefundFailure(id) }),
    }),
    route("POST", "/_standin/faults", { handle: injectFault }),
    route("POST", "/_standin/outage", {
      handle: ({ rawBody }) => {
        const { mode = "off", ms } = JSON.parse(rawBody || "{}");
        if (!["5xx", "hang", "off"].includes(mode)) {
          throw new ApiError(400, { type: "invalid_request_error", message: "mode is 5xx, hang or off" });
        }
        if (mode === "off") endOutage();
        else outage = { mode, until: typeof ms === "number" ? Date.now() + ms : Number.POSITIVE_INFINITY };
        return { body: { mode } };
      },
    }),
    route("POST", "/_standin/idempotency/expire", {
      handle: ({ rawBody }) => {
        const { key } = JSON.parse(rawBody || "{}");
        return { body: { key, expired: idempotentResults.delete(key) } };
      },
    }),
  ];

  async function handleControl(request, url, rawBody) {
    const found = matchRoute(controlRoutes, request.method, url.pathname);
    if (!found) {
      throw new ApiError(404, {
        type: "invalid_request_error",
        message: `Unrecognized stand-in control (${request.method}: ${url.pathname}).`,
      });
    }
    const { status = 200, body } = await found.route.handle({ id: found.id, url, rawBody });
    return { status, body: json(body) };
  }

  const server = createServer(async (request, response) => {
    const requestId = newId("req", 14);
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    let result;
    const mode = url.pathname.startsWith("/_standin/") ? "off" : outageMode();
    if (mode === "hang") {
      hung.add(response);
      response.on("close", () => hung.delete(response));
      log(`${request.method} ${url.pathname} → (hung: outage) ${requestId}`);
      return;
    }
    try {
      const rawBody = await readBody(request);
      if (mode === "5xx") {
        throw new ApiError(503, { type: "api_error", message: "Stripe is unavailable (stand-in outage)." });
      }
      result = url.pathname.startsWith("/_standin/")
        ? await handleControl(request, url, rawBody)
        : handleApi(request, url, rawBody, requestId);
    } catch (error) {
      if (error instanceof ApiError) {
        result = { status: error.status, body: error.body };
      } else {
        log(`stand-in error: ${error.stack}`);
        const apiError = new ApiError(500, {
          type: "api_error",
          message: "An unexpected error occurred in the Stripe stand-in.",
        });
        result = { status: 500, body: apiError.body };
      }
    }
    response.writeHead(result.status, {
      "Content-Type": "application/json",
      "Request-Id": requestId,
      "Stripe-Version": request.headers["stripe-version"] ?? API_VERSION,
      ...result.headers,
    });
    response.end(result.body);
    log(`${request.method} ${url.pathname} → ${result.status} ${requestId}`);
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actualPort = server.address().port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    host: "127.0.0.1",
    port: actualPort,
    setWebhookUrl(url) {
      config.webhookUrl = url;
    },
    events: () => structuredClone(account.events),
    /** The same switch as POST /_standin/outage, for scripts that hold the stand-in object. */
    setOutage(mode, ms) {
      if (mode === "off") endOutage();
      else outage = { mode, until: typeof ms === "number" ? Date.now() + ms : Number.POSITIVE_INFINITY };
    },
    close() {
      shutdown.abort();
      endOutage();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "12111" },
      "webhook-url": { type: "string" },
      "webhook-secret": { type: "string", default: process.env.STRIPE_WEBHOOK_SECRET },
      "no-auto-webhooks": { type: "boolean", default: false },
    },
  });
  const standin = await startStripeStandin({
    port: Number(values.port),
    webhookUrl: values["webhook-url"],
    webhookSecret: values["webhook-secret"],
    autoWebhooks: !values["no-auto-webhooks"],
    log: (line) => console.log(line),
  });
  const webhooks = values["webhook-url"] ? `; webhooks to ${values["webhook-url"]}` : "";
  console.log(`Stripe stand-in listening on ${standin.url}${webhooks}`);
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => standin.close().then(() => process.exit(0)));
}
