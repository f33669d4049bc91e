import { createHmac } from 'node:crypto';
import { checkWindow, header, safeEqual, VerifyInput, VerifyResult, WebhookVerifier } from './verifier.js';

/**
 * Standard Webhooks (standardwebhooks.com, spec v1): `webhook-id`, `webhook-timestamp` (Unix seconds),
 * `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`.
 * The key is the base64 after the `whsec_` prefix (a secret without it is used as its own UTF-8 bytes).
 * Passes when any v1 signature matches any of the source's secrets (rotation); other versions are skipped.
 */
export class StandardWebhooksVerifier implements WebhookVerifier {
  constructor(private readonly toleranceSeconds: number) {}

  verify(input: VerifyInput, secrets: string[]): VerifyResult {
    const id = header(input.headers, 'webhook-id');
    const ts = header(input.headers, 'webhook-timestamp');
    const sigHeader = header(input.headers, 'webhook-signature');
    if (!id || !sigHeader) return { ok: false, reason: 'missing-signature' };
    if (ts !== undefined && !/^\d+$/.test(ts.trim())) return { ok: false, reason: 'bad-timestamp' };
    const window = checkWindow(ts, input.nowMs, this.toleranceSeconds);
    if (!window.ok) return window;
    const signed = Buffer.concat([Buffer.from(`${id}.${ts!.trim()}.`, 'utf8'), input.body]);
    const expected = secrets.map(s => createHmac('sha256', standardWebhooksKey(s)).update(signed).digest());
    const given = sigHeader.split(' ').filter(Boolean).flatMap(part => {
      const comma = part.indexOf(',');
      return comma > 0 && part.slice(0, comma) === 'v1' ? [Buffer.from(part.slice(comma + 1), 'base64')] : [];
    });
    // Every pair is compared, so timing does not reveal which secret or which signature matched.
    let match = false;
    for (const g of given) for (const e of expected) if (safeEqual(g, e)) match = true;
    return match ? { ok: true, eventId: id, timestampMs: window.timestampMs } : { ok: false, reason: 'bad-signature' };
  }
}

/** The HMAC key of a Standard Webhooks secret: base64-decoded after `whsec_`, else the secret's UTF-8 bytes. */
export function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** Signs like a Standard Webhooks sender (tests, fixtures, docs): `v1,<base64>`. */
export function signStandardWebhook(secret: string, id: string, timestamp: number, body: Buffer | string): string {
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
  return `v1,${createHmac('sha256', standardWebhooksKey(secret)).update(signed).digest('base64')}`;
}
