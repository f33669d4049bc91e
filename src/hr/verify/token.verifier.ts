import { header, safeEqualText, VerifyInput, VerifyResult, WebhookVerifier } from './verifier.js';

/**
 * Per-source shared token for vendors whose documentation shows no payload signature (Personio,
 * Rippling): the configured header (default `Authorization: Bearer <token>`) must equal one of the
 * source's secrets, compared in constant time. Source-address allow-lists belong to the ingress / NetworkPolicy.
 */
export class TokenVerifier implements WebhookVerifier {
  constructor(private readonly headerName: string, private readonly scheme: string) {}

  verify(input: VerifyInput, secrets: string[]): VerifyResult {
    const raw = header(input.headers, this.headerName);
    if (!raw) return { ok: false, reason: 'missing-signature' };
    let token = raw.trim();
    if (this.scheme) {
      const [scheme, ...rest] = token.split(' ');
      if (scheme.toLowerCase() !== this.scheme.toLowerCase()) return { ok: false, reason: 'bad-signature' };
      token = rest.join(' ').trim();
    }
    let match = false;
    for (const s of secrets) if (safeEqualText(token, s)) match = true;
    return match ? { ok: true } : { ok: false, reason: 'bad-signature' };
  }
}
