import { TargetConfig } from '../../config/app-config.js';
import { OAuth2ClientCredentials } from './oauth2-client-credentials.js';
import { StaticAuth } from './static-auth.js';

/** Headers that authenticate one request to a target. */
export type AuthHeaders = Record<string, string>;

/**
 * How a ScimClient authenticates its requests to one target (`targets[].auth`). Implementations read
 * secrets only from the env vars the config names and never put them in logs or error messages.
 */
export interface TargetAuth {
  /**
   * Headers for the next request. May fetch a token first (OAuth 2.0). Throws a TargetError when no
   * usable credentials can be had: TargetDown for missing or rejected credentials, Retryable when the
   * token endpoint is failing, Throttled when it answers 429.
   */
  headers(signal?: AbortSignal): Promise<AuthHeaders>;
  /**
   * The target answered 401 to a request sent with `sent`. Returns true when fresh credentials exist or
   * will be fetched, so the request is worth one retry (RFC 6750 §3.1 `invalid_token`); false for static
   * credentials, which a retry would only send again.
   */
  rejected(sent: AuthHeaders): boolean;
  /** Releases connections (the OAuth token endpoint's pool). */
  close(): Promise<void>;
}

/** Builds the authenticator `target.auth` describes. `env` is where the named secrets are read from. */
export function createTargetAuth(target: TargetConfig, env: NodeJS.ProcessEnv = process.env): TargetAuth {
  return target.auth.type === 'oauth2-client-credentials'
    ? new OAuth2ClientCredentials(target, env)
    : new StaticAuth(target.auth, env);
}
