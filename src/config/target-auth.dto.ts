import 'reflect-metadata';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateIf } from 'class-validator';

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const envMessage = (key: string) => ({ message: `${key} must name an environment variable (A-Z, 0-9, _)` });

export const TARGET_AUTH_TYPES = ['bearer', 'basic', 'oauth2-client-credentials', 'header', 'none'] as const;
export type TargetAuthType = (typeof TARGET_AUTH_TYPES)[number];

/** How the client authenticates to the token endpoint (RFC 6749 §2.3.1). */
export const TOKEN_CLIENT_AUTH = ['client_secret_basic', 'client_secret_post'] as const;
export type TokenClientAuth = (typeof TOKEN_CLIENT_AUTH)[number];

/**
 * How Switchboard authenticates to a target (`targets[].auth`). Secrets come only from the env vars
 * named here, never from the file:
 * - `bearer`: `Authorization: Bearer $tokenEnv` (RFC 6750 §2.1)
 * - `basic`: `Authorization: Basic base64($usernameEnv:$passwordEnv)` (RFC 7617)
 * - `oauth2-client-credentials`: a token from `tokenUrl` (RFC 6749 §4.4), cached and refreshed before expiry
 * - `header`: `<headerName>: $valueEnv` (e.g. `X-API-Key`)
 * - `none`
 */
export class TargetAuthDto {
  @IsIn(TARGET_AUTH_TYPES as unknown as string[])
  type!: TargetAuthType;

  @ValidateIf(o => o.type === 'bearer') @Matches(ENV_NAME, envMessage('tokenEnv'))
  tokenEnv?: string;

  @ValidateIf(o => o.type === 'basic') @Matches(ENV_NAME, envMessage('usernameEnv'))
  usernameEnv?: string;

  @ValidateIf(o => o.type === 'basic') @Matches(ENV_NAME, envMessage('passwordEnv'))
  passwordEnv?: string;

  /** Token endpoint (RFC 6749 §3.2). */
  @ValidateIf(o => o.type === 'oauth2-client-credentials')
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'tokenUrl must be an http(s) URL' })
  tokenUrl?: string;

  @ValidateIf(o => o.type === 'oauth2-client-credentials') @Matches(ENV_NAME, envMessage('clientIdEnv'))
  clientIdEnv?: string;

  @ValidateIf(o => o.type === 'oauth2-client-credentials') @Matches(ENV_NAME, envMessage('clientSecretEnv'))
  clientSecretEnv?: string;

  /** Space-separated scopes requested with the token (RFC 6749 §3.3). */
  @IsOptional() @IsString()
  scope?: string;

  /** `audience` parameter some providers require (Auth0, Okta custom authorization servers). */
  @IsOptional() @IsString()
  audience?: string;

  /** Default `client_secret_basic` (RFC 6749 §2.3.1: the authorization server MUST support it). */
  @IsOptional() @IsIn(TOKEN_CLIENT_AUTH as unknown as string[])
  clientAuth?: TokenClientAuth;

  /** Header carrying the secret for `type: header`, e.g. `X-API-Key`. */
  @ValidateIf(o => o.type === 'header')
  @Matches(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'headerName must be an HTTP header name (RFC 9110 §5.1 token)' })
  headerName?: string;

  @ValidateIf(o => o.type === 'header') @Matches(ENV_NAME, envMessage('valueEnv'))
  valueEnv?: string;
}

/**
 * Per-target rate budget (`targets[].rateLimit`): at most `max` HTTP requests in any `perMs` window,
 * counted per request across every worker process (Redis), and at most `concurrency` pushes in flight
 * across all processes (BullMQ global concurrency).
 */
export class RateLimitDto {
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000)
  max?: number;

  /** Window length in ms (at least one second: the Redis key expiry is second-granular). */
  @IsOptional() @IsInt() @Min(1000) @Max(86_400_000)
  perMs?: number;

  @IsOptional() @IsInt() @Min(1) @Max(256)
  concurrency?: number;
}

/** `targets[].auth` after validation: only the keys of its type are meaningful. */
export interface TargetAuthConfig {
  type: TargetAuthType;
  tokenEnv?: string;
  usernameEnv?: string;
  passwordEnv?: string;
  tokenUrl?: string;
  clientIdEnv?: string;
  clientSecretEnv?: string;
  scope?: string;
  audience?: string;
  clientAuth?: TokenClientAuth;
  headerName?: string;
  valueEnv?: string;
}

/** `targets[].rateLimit` after validation. No `max` means no request budget, only the concurrency cap. */
export interface RateLimitConfig {
  max?: number;
  /** Window length in ms; default 1000. */
  perMs: number;
  /** Pushes in flight across all processes; default the target's `concurrency`. */
  concurrency?: number;
}

/** Normalises `targets[].auth`; the DTO has already checked the keys each type needs. */
export function normaliseTargetAuth(raw: TargetAuthDto): TargetAuthConfig {
  const out: TargetAuthConfig = { ...raw };
  if (out.type === 'oauth2-client-credentials') out.clientAuth ??= 'client_secret_basic';
  return out;
}

/** Normalises `targets[].rateLimit` (undefined when absent). */
export function normaliseRateLimit(raw: RateLimitDto | undefined): RateLimitConfig | undefined {
  if (!raw) return undefined;
  return { max: raw.max, perMs: raw.perMs ?? 1000, concurrency: raw.concurrency };
}

/** The env vars a target's auth block names, i.e. the secrets `check-config` expects to be set. */
export function targetSecretEnvs(auth: TargetAuthConfig): string[] {
  return [auth.tokenEnv, auth.usernameEnv, auth.passwordEnv, auth.clientIdEnv, auth.clientSecretEnv, auth.valueEnv]
    .filter((e): e is string => !!e);
}
