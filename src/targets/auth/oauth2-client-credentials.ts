import { Logger } from '@nestjs/common';
import { Pool } from 'undici';
import { readSecret, TargetConfig } from '../../config/app-config.js';
import { classifyNetworkError, parseRetryAfter, ResponseHeaders } from '../scim-client.js';
import { TargetError, TargetErrorKind } from '../target.error.js';
import type { AuthHeaders, TargetAuth } from './target-auth.js';

/** Lifetime assumed when the token response has no `expires_in` (RFC 6749 §5.1 leaves it to the server). */
export const DEFAULT_TOKEN_LIFETIME_MS = 3600_000;
/** A token is refreshed this long before it expires: 60 s, or 10 % of a shorter lifetime. */
export function refreshSkewMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.round(lifetimeMs * 0.1));
}

/** RFC 6749 §5.2 error codes that mean our credentials or grant are wrong: no retry will help. */
const CREDENTIAL_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'invalid_scope', 'unsupported_grant_type', 'invalid_request']);

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is refreshed before use. */
  refreshAt: number;
  /** Epoch ms at which the server said it expires. */
  expiresAt: number;
}

/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4) for one target. The token is cached per target in
 * this process and refreshed before expiry ({@link refreshSkewMs}); concurrent requests share one token
 * request (single flight). Client authentication is `client_secret_basic` (default; RFC 6749 §2.3.1,
 * id and secret form-encoded before base64) or `client_secret_post`. Token endpoint failures become
 * TargetErrors: 400/401 with a credential error (`invalid_client`, …) or any other 4xx → TargetDown
 * (the circuit opens); 5xx, 408 and network errors → Retryable; 429 → Throttled with Retry-After.
 * Neither the secret nor a token ever appears in an error message or a log line.
 */
export class OAuth2ClientCredentials implements TargetAuth {
  private readonly log = new Logger(OAuth2ClientCredentials.name);
  private readonly pool: Pool;
  private readonly tokenPath: string;
  private token: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

  constructor(
    private readonly target: TargetConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {
    const url = new URL(target.auth.tokenUrl ?? '');
    this.tokenPath = url.pathname + url.search;
    this.pool = new Pool(url.origin, {
      connections: 2,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      connect: { timeout: target.timeoutMs },
    });
  }

  async headers(signal?: AbortSignal): Promise<AuthHeaders> {
    const t = this.token && this.now() < this.token.refreshAt ? this.token : await this.refresh(signal);
    return { authorization: `Bearer ${t.accessToken}` };
  }

  rejected(sent: AuthHeaders): boolean {
    // Drop the token only if it is the one the target refused; a concurrent refresh may already have replaced it.
    if (this.token && sent.authorization === `Bearer ${this.token.accessToken}`) this.token = undefined;
    return true;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** One token request at a time; every caller waiting meanwhile gets its result. */
  private refresh(signal?: AbortSignal): Promise<CachedToken> {
    this.inflight ??= this.fetchToken(signal).then(
      t => { this.token = t; this.inflight = undefined; return t; },
      (e: unknown) => { this.inflight = undefined; throw e; },
    );
    return this.inflight;
  }

  private async fetchToken(signal?: AbortSignal): Promise<CachedToken> {
    const auth = this.target.auth;
    const clientId = readSecret(auth.clientIdEnv, this.env);
    const secret = readSecret(auth.clientSecretEnv, this.env);
    if (!clientId || !secret) {
      throw new TargetError(TargetErrorKind.TargetDown, {
        detail: `OAuth client credentials env vars ${auth.clientIdEnv ?? '(unset)'}/${auth.clientSecretEnv ?? '(unset)'} are empty`,
      });
    }
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) form.set('scope', auth.scope);
    if (auth.audience) form.set('audience', auth.audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (auth.clientAuth === 'client_secret_post') {
      form.set('client_id', clientId);
      form.set('client_secret', secret);
    } else {
      const basic = `${formEncode(clientId)}:${formEncode(secret)}`;
      headers.authorization = `Basic ${Buffer.from(basic, 'utf8').toString('base64')}`;
    }

    const requestedAt = this.now();
    let status: number;
    let responseHeaders: ResponseHeaders;
    let text: string;
    try {
      const res = await this.pool.request({ method: 'POST', path: this.tokenPath, headers, body: form.toString(), signal });
      status = res.statusCode;
      responseHeaders = res.headers;
      text = await res.body.text();
    } catch (err) {
      const e = classifyNetworkError(err);
      throw new TargetError(e.kind, { detail: `token endpoint unreachable: ${e.detail}` });
    }
    const body = parseJson(text);
    if (status !== 200) throw tokenEndpointError(status, responseHeaders, body);

    const accessToken = body?.access_token;
    const tokenType = body?.token_type;
    if (typeof accessToken !== 'string' || !accessToken) {
      throw new TargetError(TargetErrorKind.TargetDown, { status, detail: 'token endpoint answered without access_token' });
    }
    if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
      throw new TargetError(TargetErrorKind.TargetDown, { status, detail: `token endpoint issued an unsupported token_type "${tokenType.slice(0, 40)}"` });
    }
    const expiresIn = Number(body?.expires_in);
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    // Count the lifetime from when we asked, not when we got the answer: the server's clock started earlier.
    const expiresAt = requestedAt + lifetimeMs;
    this.log.debug(`Fetched an access token for target ${this.target.id} (expires in ${Math.round(lifetimeMs / 1000)} s)`);
    return { accessToken, expiresAt, refreshAt: expiresAt - refreshSkewMs(lifetimeMs) };
  }
}

/** RFC 6749 §2.3.1: client_id and secret are `application/x-www-form-urlencoded` before base64. */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Classifies a non-200 token endpoint answer (RFC 6749 §5.2). */
export function tokenEndpointError(status: number, headers: ResponseHeaders, body: Record<string, unknown> | undefined): TargetError {
  const code = typeof body?.error === 'string' ? body.error.slice(0, 60) : undefined;
  const description = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
  const detail = `token endpoint: ${code ?? 'no error code'}${description}`;
  if (status === 429) {
    return new TargetError(TargetErrorKind.Throttled, { status, detail, retryAfterMs: parseRetryAfter(headers['retry-after']) ?? 1000 });
  }
  if (status === 408 || status >= 500) {
    return new TargetError(TargetErrorKind.Retryable, { status, detail, retryAfterMs: parseRetryAfter(headers['retry-after']) });
  }
  // invalid_client and friends (CREDENTIAL_ERRORS), or any other refusal: every request to this target would fail alike.
  return new TargetError(TargetErrorKind.TargetDown, { status, scimType: code && CREDENTIAL_ERRORS.has(code) ? code : undefined, detail });
}
