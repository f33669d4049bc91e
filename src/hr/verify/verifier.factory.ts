import type { HrSourceConfig } from '../../config/hr-config.dto.js';
import { HmacVerifier } from './hmac.verifier.js';
import { StandardWebhooksVerifier } from './standard-webhooks.verifier.js';
import { TokenVerifier } from './token.verifier.js';
import { WebhookVerifier } from './verifier.js';

/** The verifier of a source's kind: Standard Webhooks, the configurable HMAC verifier, or a shared token. */
export function verifierFor(source: HrSourceConfig): WebhookVerifier {
  if (source.kind === 'standard-webhooks') return new StandardWebhooksVerifier(source.toleranceSeconds);
  if (source.hmac) return new HmacVerifier(source.hmac, source.toleranceSeconds);
  if (source.token) return new TokenVerifier(source.token.header, source.token.scheme);
  throw new Error(`HR source ${source.id}: no verifier for kind ${source.kind}`);
}
