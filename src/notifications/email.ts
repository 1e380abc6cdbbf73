import { EMAIL_TIMEOUT_MS } from "../lib/deadline";
// One way out for every email. Production uses Resend's HTTP API (RESEND_API_KEY); without it
// (development, tests) messages land in the development mailbox in KV, visible at
// GET /v1/dev/mailbox, so a developer sees every email `npm run dev` would have sent.

export interface EmailMessage {
  /** Stable per notification: the provider's idempotency key, and the mailbox key. */
  id: string;
  to: string;
  subject: string;
  text: string;
}

export interface EmailProvider {
  readonly name: string;
  send(message: EmailMessage): Promise<void>;
}

export class ResendProvider implements EmailProvider {
  readonly name = "resend";

  constructor(
    private readonly apiKey: string,
    private readonly from: string,
    private readonly apiUrl = "https://api.resend.com",
  ) {}

  async send(message: EmailMessage): Promise<void> {
    const response = await fetch(`${this.apiUrl}/emails`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        "content-type": "application/json",
        // Resend drops a second send with the same key: a redelivered message is not mailed twice.
        "idempotency-key": message.id,
      },
      body: JSON.stringify({ from: this.from, to: [message.to], subject: message.subject, text: message.text }),
      // A hung provider would hold the queue batch; the queue retries the message later.
      signal: AbortSignal.timeout(EMAIL_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`resend answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  }
}

export class DevMailbox implements EmailProvider {
  readonly name = "mailbox";

  constructor(private readonly kv: KVNamespace) {}

  async send(message: EmailMessage): Promise<void> {
    await this.kv.put(`mailbox:${message.id}`, JSON.stringify({ ...message, sent_at: new Date().toISOString() }), {
      expirationTtl: 7 * 86_400,
    });
  }

  async list(): Promise<(EmailMessage & { sent_at: string })[]> {
    const { keys } = await this.kv.list({ prefix: "mailbox:" });
    const messages = await Promise.all(
      keys.map((key) => this.kv.get<EmailMessage & { sent_at: string }>(key.name, "json")),
    );
    return messages.filter((m) => m !== null).sort((a, b) => b.sent_at.localeCompare(a.sent_at));
  }
}

export function emailProvider(
  env: Pick<Env, "RESEND_API_KEY" | "RESEND_API_URL" | "EMAIL_FROM" | "MAILBOX">,
): EmailProvider {
  if (env.RESEND_API_KEY) {
    return new ResendProvider(env.RESEND_API_KEY, env.EMAIL_FROM ?? "Onsale <tickets@onsale.dev>", env.RESEND_API_URL);
  }
  return new DevMailbox(env.MAILBOX);
}
