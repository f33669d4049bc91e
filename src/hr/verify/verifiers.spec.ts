import { HMAC_PRESETS } from '../../config/hr-config.dto.js';
import { HmacVerifier, signHmac } from './hmac.verifier.js';
import { signStandardWebhook, StandardWebhooksVerifier } from './standard-webhooks.verifier.js';
import { TokenVerifier } from './token.verifier.js';

describe('StandardWebhooksVerifier', () => {
  // Test vector published with the Standard Webhooks / Svix reference libraries.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = Buffer.from('{"test": 2432232314}');
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const v = new StandardWebhooksVerifier(300);
  const headers = (sig: string, t = ts) => ({ 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': sig });

  it('signs the published vector and accepts it', () => {
    expect(signStandardWebhook(secret, id, ts, body)).toBe(expected);
    expect(v.verify({ headers: headers(expected), body, nowMs: ts * 1000 }, [secret])).toEqual({ ok: true, eventId: id, timestampMs: ts * 1000 });
  });

  it('accepts one matching signature among several, and either of two secrets', () => {
    const sig = `v1,bm9wZQ== v2,xyz ${expected}`;
    expect(v.verify({ headers: headers(sig), body, nowMs: ts * 1000 }, ['whsec_b2xk', secret]).ok).toBe(true);
  });

  it('refuses a tampered body, a wrong secret, an old or future timestamp, missing headers', () => {
    expect(v.verify({ headers: headers(expected), body: Buffer.from('{"test": 2432232315}'), nowMs: ts * 1000 }, [secret])).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v.verify({ headers: headers(expected), body, nowMs: ts * 1000 }, ['whsec_b3RoZXI='])).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v.verify({ headers: headers(expected), body, nowMs: (ts + 301) * 1000 }, [secret])).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(v.verify({ headers: headers(expected), body, nowMs: (ts - 301) * 1000 }, [secret])).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(v.verify({ headers: { 'webhook-id': id }, body, nowMs: ts * 1000 }, [secret])).toEqual({ ok: false, reason: 'missing-signature' });
  });
});

describe('HmacVerifier presets', () => {
  const body = Buffer.from('{"employees":[{"id":"1"}]}');
  const now = 1_800_000_000_000;

  it('bamboohr: HMAC-SHA256 hex over body + X-BambooHR-Timestamp, within the window', () => {
    const cfg = HMAC_PRESETS.bamboohr!;
    const h: Record<string, string> = { 'x-bamboohr-timestamp': String(now / 1000) };
    h['x-bamboohr-signature'] = signHmac(cfg, 'k', h, body);
    expect(h['x-bamboohr-signature']).toMatch(/^[0-9a-f]{64}$/);
    const v = new HmacVerifier(cfg, 300);
    expect(v.verify({ headers: h, body, nowMs: now }, ['old', 'k']).ok).toBe(true);
    expect(v.verify({ headers: h, body, nowMs: now + 400_000 }, ['k'])).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(v.verify({ headers: { ...h, 'x-bamboohr-timestamp': String(now / 1000 + 1) }, body, nowMs: now }, ['k'])).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('hibob: HMAC-SHA512 of the body in Bob-Signature', () => {
    const cfg = HMAC_PRESETS.hibob!;
    const sig = signHmac(cfg, 's', {}, body);
    expect(Buffer.from(sig, 'base64')).toHaveLength(64);
    expect(new HmacVerifier(cfg, 300).verify({ headers: { 'bob-signature': sig }, body, nowMs: now }, ['s']).ok).toBe(true);
  });

  it('custom template, prefix and base64 encoding', () => {
    const cfg = { algorithm: 'sha256' as const, signatureHeader: 'x-sig', signedContent: '{timestamp}.{header:x-tenant}.{body}', encoding: 'base64' as const, prefix: 'sha256=', timestampHeader: 'x-ts' };
    const h: Record<string, string> = { 'x-ts': String(now / 1000), 'x-tenant': 'acme' };
    h['x-sig'] = signHmac(cfg, 's', h, body);
    expect(h['x-sig'].startsWith('sha256=')).toBe(true);
    const v = new HmacVerifier(cfg, 300);
    expect(v.verify({ headers: h, body, nowMs: now }, ['s']).ok).toBe(true);
    expect(v.verify({ headers: { ...h, 'x-tenant': 'other' }, body, nowMs: now }, ['s']).ok).toBe(false);
  });
});

describe('TokenVerifier', () => {
  it('compares a bearer token with any current secret', () => {
    const v = new TokenVerifier('authorization', 'Bearer');
    expect(v.verify({ headers: { authorization: 'Bearer t2' }, body: Buffer.alloc(0), nowMs: 0 }, ['t1', 't2']).ok).toBe(true);
    expect(v.verify({ headers: { authorization: 'Bearer t3' }, body: Buffer.alloc(0), nowMs: 0 }, ['t1', 't2']).ok).toBe(false);
    expect(v.verify({ headers: { authorization: 'Basic t1' }, body: Buffer.alloc(0), nowMs: 0 }, ['t1']).ok).toBe(false);
    expect(new TokenVerifier('x-webhook-token', '').verify({ headers: { 'x-webhook-token': 't1' }, body: Buffer.alloc(0), nowMs: 0 }, ['t1']).ok).toBe(true);
  });
});
