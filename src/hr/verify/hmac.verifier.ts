import { createHmac } from 'node:crypto';
import type { HmacVerifierConfig } from '../../config/hr-config.dto.js';
import { checkWindow, header, safeEqual, VerifyInput, VerifyResult, WebhookHeaders, WebhookVerifier } from './verifier.js';

/**
 * The one configurable HMAC verifier behind the vendor presets (bamboohr, hibob, gusto) and kind `hmac`:
 * algorithm, signature header, signed-content template (`{body}`, `{timestamp}`, `{id}`,
 * `{header:<name>}`), hex or base64 encoding, optional prefix, optional signed timestamp header
 * checked against the tolerance window. Passes when the signature matches any current secret.
 */
export class HmacVerifier implements WebhookVerifier {
  constructor(private readonly cfg: HmacVerifierConfig, private readonly toleranceSeconds: number) {}

  verify(input: VerifyInput, secrets: string[]): VerifyResult {
    const raw = header(input.headers, this.cfg.signatureHeader);
    if (!raw) return { ok: false, reason: 'missing-signature' };
    let timestampMs: number | undefined;
    if (this.cfg.timestampHeader) {
      const w = checkWindow(header(input.headers, this.cfg.timestampHeader), input.nowMs, this.toleranceSeconds);
      if (!w.ok) return w;
      timestampMs = w.timestampMs;
    }
    const given = decodeSignature(raw, this.cfg);
    if (!given) return { ok: false, reason: 'bad-signature' };
    const content = signedContent(this.cfg, input.headers, input.body);
    let match = false;
    for (const s of secrets) if (safeEqual(given, createHmac(this.cfg.algorithm, s).update(content).digest())) match = true;
    if (!match) return { ok: false, reason: 'bad-signature' };
    const id = this.cfg.idHeader ? header(input.headers, this.cfg.idHeader) : undefined;
    return { ok: true, eventId: id, timestampMs };
  }
}

/** The bytes the sender signed, from the template; `{body}` is the raw body, never re-serialised JSON. */
export function signedContent(cfg: HmacVerifierConfig, headers: WebhookHeaders, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  const re = /\{(body|timestamp|id|header:[^}]+)\}/g;
  let last = 0;
  for (let m = re.exec(cfg.signedContent); m; m = re.exec(cfg.signedContent)) {
    parts.push(Buffer.from(cfg.signedContent.slice(last, m.index), 'utf8'));
    const token = m[1];
    if (token === 'body') parts.push(body);
    else {
      const name = token === 'timestamp' ? cfg.timestampHeader : token === 'id' ? cfg.idHeader : token.slice('header:'.length);
      parts.push(Buffer.from((name && header(headers, name)) ?? '', 'utf8'));
    }
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(cfg.signedContent.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

function decodeSignature(raw: string, cfg: HmacVerifierConfig): Buffer | undefined {
  let v = raw.trim();
  if (cfg.prefix) {
    if (!v.startsWith(cfg.prefix)) return undefined;
    v = v.slice(cfg.prefix.length);
  }
  if (cfg.encoding === 'hex') return /^[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0 ? Buffer.from(v, 'hex') : undefined;
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) ? Buffer.from(v, 'base64') : undefined;
}

/** Signs like the vendor would (tests, fixtures): the header value for `cfg`. */
export function signHmac(cfg: HmacVerifierConfig, secret: string, headers: WebhookHeaders, body: Buffer | string): string {
  const content = signedContent(cfg, headers, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
  return cfg.prefix + createHmac(cfg.algorithm, secret).update(content).digest(cfg.encoding);
}
