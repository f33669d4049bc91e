import { createHash, timingSafeEqual } from 'node:crypto';

/** Header names lower-cased (Node's IncomingMessage) → value. */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** What a verifier sees: the raw body bytes exactly as received, headers, and the clock (ms). */
export interface VerifyInput { headers: WebhookHeaders; body: Buffer; nowMs: number }

/** Why a delivery was refused (a metric label; never carries a secret or the body). */
export type VerifyFailure =
  | 'missing-signature' | 'bad-signature' | 'missing-timestamp' | 'bad-timestamp' | 'stale-timestamp' | 'no-secret-configured';

export type VerifyResult = { ok: true; eventId?: string; timestampMs?: number } | { ok: false; reason: VerifyFailure };

/** Verifies one delivery against the source's current secrets (several during a rotation). */
export interface WebhookVerifier {
  verify(input: VerifyInput, secrets: string[]): VerifyResult;
}

/** First value of a header. */
export function header(h: WebhookHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time equality of two byte strings (false on length mismatch, without early exit on content). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Constant-time equality of two texts of any length (compares their SHA-256 digests). */
export function safeEqualText(a: string, b: string): boolean {
  const d = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(d(a), d(b));
}

/**
 * A timestamp header as ms since the epoch: integer seconds (Standard Webhooks), integer ms (> 10^12)
 * or an ISO-8601 instant. Undefined when unreadable.
 */
export function parseTimestamp(raw: string): number | undefined {
  const t = raw.trim();
  if (/^\d{1,16}$/.test(t)) {
    const n = Number(t);
    return n > 1e12 ? n : n * 1000;
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Checks a signed timestamp against the tolerance window (both directions). */
export function checkWindow(raw: string | undefined, nowMs: number, toleranceSeconds: number): VerifyResult {
  if (raw === undefined || raw === '') return { ok: false, reason: 'missing-timestamp' };
  const ms = parseTimestamp(raw);
  if (ms === undefined) return { ok: false, reason: 'bad-timestamp' };
  if (Math.abs(nowMs - ms) > toleranceSeconds * 1000) return { ok: false, reason: 'stale-timestamp' };
  return { ok: true, timestampMs: ms };
}
