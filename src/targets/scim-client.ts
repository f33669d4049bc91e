import { performance } from 'node:perf_hooks';
import { Dispatcher, Pool } from 'undici';
import type { TargetConfig } from '../config/app-config.js';
import { PATCH_OP_SCHEMA, ResourceTypeName, SCIM_MEDIA_TYPE } from '../scim/scim.constants.js';
import { AuthHeaders, createTargetAuth, TargetAuth } from './auth/target-auth.js';
import type { RequestBudget } from './rate-budget.js';
import { TargetError, TargetErrorKind } from './target.error.js';

/** One operation of a SCIM PATCH request (RFC 7644 §3.5.2). */
export type PatchOperation = { op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown };

/** A SCIM JSON object as a target returned it. */
export type ScimObject = Record<string, unknown>;

/** What one call to a target returned; also what the push log records. */
export interface ScimResponse<T> {
  status: number;
  body: T;
  /** The `ETag` header, or `meta.version` when the header is absent (RFC 7644 §3.14). */
  etag?: string;
  /** Wall time from sending the request to reading the whole response body. */
  durationMs: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the request, e.g. the BullMQ processor's signal on shutdown. */
  signal?: AbortSignal;
}

/** Per-call options for writes to an existing resource. */
export interface WriteOptions extends CallOptions {
  /** Sent as `If-Match` (RFC 7644 §3.14); a mismatch comes back as a Permanent TargetError with status 412. */
  ifMatch?: string;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** What a ScimClient is built with besides its target. */
export interface ScimClientOptions {
  /** Authenticates each request; default built from `target.auth` and the env. */
  auth?: TargetAuth;
  /** Taken once before every HTTP request (rate-budget.ts); none: unlimited. */
  budget?: RequestBudget;
}

/** Used for a 429 without a usable `Retry-After`. */
export const DEFAULT_THROTTLE_MS = 1000;
/** No `Retry-After` is honoured beyond this (research/bullmq-design.md §3.4). */
export const MAX_RETRY_AFTER_MS = 15 * 60 * 1000;

/** Idle sockets are dropped after this unless the server sends a shorter `Keep-Alive: timeout` hint. */
const KEEP_ALIVE_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_MAX_TIMEOUT_MS = 10 * 60_000;

/** Network failures that mean the target as a whole cannot be reached or trusted, not this request. */
const TARGET_DOWN_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Reads `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds clamped to
 * [0, {@link MAX_RETRY_AFTER_MS}], or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(raw)) ms = Number(raw) * 1000;
  else if (/[a-z]/i.test(raw) && !Number.isNaN(Date.parse(raw))) ms = Date.parse(raw) - now;
  else return undefined;
  return Math.round(Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS));
}

/**
 * The one place an HTTP answer from a target is classified (STYLE.md §3). Returns undefined for 2xx.
 * Every other status becomes a TargetError; callers for which a 404 is an answer rather than a failure
 * (get, replace, patch, delete) check for it before calling this.
 */
export function classifyResponse(status: number, headers: ResponseHeaders, body: unknown): TargetError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const { scimType, detail } = errorInfo(body);
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  if (status === 429) {
    return new TargetError(TargetErrorKind.Throttled, { status, scimType, detail, retryAfterMs: retryAfterMs ?? DEFAULT_THROTTLE_MS });
  }
  // Bad or revoked credentials fail every request to this target alike.
  if (status === 401 || status === 403) return new TargetError(TargetErrorKind.TargetDown, { status, scimType, detail });
  if (status === 408 || status >= 500) return new TargetError(TargetErrorKind.Retryable, { status, scimType, detail, retryAfterMs });
  // 400 invalidValue, 404 where a resource was expected, 409 uniqueness, 412, …: about this resource only.
  if (status >= 400) return new TargetError(TargetErrorKind.Permanent, { status, scimType, detail });
  // 1xx/3xx: undici follows no redirects; a redirect means a wrong base URL, which affects every request.
  return new TargetError(TargetErrorKind.TargetDown, { status, detail: detail || 'unexpected status' });
}

/** Classifies a failure to get an HTTP answer at all (connect, DNS, TLS, timeouts, resets). */
export function classifyNetworkError(err: unknown): TargetError {
  if (err instanceof TargetError) return err;
  const code = errorCode(err);
  const detail = code ?? (err instanceof Error ? err.name : 'unknown network error');
  if (code !== undefined && TARGET_DOWN_CODES.has(code)) return new TargetError(TargetErrorKind.TargetDown, { detail });
  // UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT, UND_ERR_CONNECT_TIMEOUT, UND_ERR_SOCKET, ECONNRESET, EPIPE,
  // aborts on shutdown and anything unrecognised: try again; exhausted attempts end in the dead-letter queue.
  return new TargetError(TargetErrorKind.Retryable, { detail });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  // Node 20 tries every resolved address (autoSelectFamily) and throws an AggregateError.
  if (Array.isArray(e.errors) && e.errors.length) return errorCode(e.errors[0]);
  return e.cause !== undefined && e.cause !== err ? errorCode(e.cause) : undefined;
}

function errorInfo(body: unknown): { scimType?: string; detail: string } {
  if (typeof body === 'string') return { detail: body };
  if (typeof body !== 'object' || body === null) return { detail: '' };
  const b = body as Record<string, unknown>;
  const scimType = typeof b.scimType === 'string' ? b.scimType : undefined;
  const detail = typeof b.detail === 'string' ? b.detail : typeof b.message === 'string' ? b.message : '';
  return { scimType, detail };
}

function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The SCIM 2.0 client for one target: a keep-alive undici Pool, auth from the env vars the target's
 * config names (auth/target-auth.ts), one unit of the target's rate budget taken before every HTTP
 * request, and every failure classified into a {@link TargetError}. A 401 makes refreshable
 * credentials (OAuth 2.0) fetch a new token and the request is retried once; a second 401 is
 * TargetDown. Create one per target and `close()` it on shutdown.
 */
export class ScimClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly auth: TargetAuth;
  private readonly budget: RequestBudget | undefined;

  constructor(private readonly target: TargetConfig, env: NodeJS.ProcessEnv = process.env, opts: ScimClientOptions = {}) {
    const url = new URL(target.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: Math.max(1, target.concurrency * 2),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MAX_TIMEOUT_MS,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      connect: { timeout: target.timeoutMs },
    });
    this.auth = opts.auth ?? createTargetAuth(target, env);
    this.budget = opts.budget;
  }

  /** POST `/<Users|Groups>`. A 409 (e.g. `uniqueness`) is thrown as a Permanent TargetError carrying `scimType`. */
  create(resourceType: ResourceTypeName, body: ScimObject, opts: CallOptions = {}): Promise<ScimResponse<ScimObject | undefined>> {
    return this.send('POST', endpoint(resourceType), { body, ...opts });
  }

  /** GET one resource; `{ status: 404 }` when the target no longer has it. */
  get(resourceType: ResourceTypeName, id: string, opts: CallOptions = {}): Promise<ScimResponse<ScimObject | undefined>> {
    return this.send('GET', resourcePath(resourceType, id), { allow404: true, ...opts });
  }

  /** PUT a whole resource; `{ status: 404 }` when the target no longer has it (the caller re-creates). */
  replace(resourceType: ResourceTypeName, id: string, body: ScimObject, opts: WriteOptions = {}): Promise<ScimResponse<ScimObject | undefined>> {
    return this.send('PUT', resourcePath(resourceType, id), { body, allow404: true, ...opts });
  }

  /** PATCH with a PatchOp message; `{ status: 404 }` when the target no longer has it (the caller re-creates). */
  patch(resourceType: ResourceTypeName, id: string, operations: PatchOperation[], opts: WriteOptions = {}): Promise<ScimResponse<ScimObject | undefined>> {
    const body = { schemas: [PATCH_OP_SCHEMA], Operations: operations };
    return this.send('PATCH', resourcePath(resourceType, id), { body, allow404: true, ...opts });
  }

  /** DELETE a resource; `{ status: 404 }` when it is already gone, which the caller counts as success. */
  delete(resourceType: ResourceTypeName, id: string, opts: WriteOptions = {}): Promise<ScimResponse<undefined>> {
    return this.send('DELETE', resourcePath(resourceType, id), { allow404: true, ignoreBody: true, ...opts }) as Promise<ScimResponse<undefined>>;
  }

  /**
   * GET `?filter=…&count=2` and return the list's `Resources` (empty when none matched). Two results let
   * the caller tell an ambiguous match from a unique one. Some targets answer "no match" with 404; that
   * comes back as `{ status: 404, body: [] }`.
   */
  async findOne(resourceType: ResourceTypeName, filter: string, opts: CallOptions = {}): Promise<ScimResponse<ScimObject[]>> {
    const path = `${endpoint(resourceType)}?filter=${encodeURIComponent(filter)}&count=2`;
    const res = await this.send('GET', path, { allow404: true, ...opts });
    const resources = res.body?.Resources;
    return {
      status: res.status,
      body: Array.isArray(resources) ? resources.filter((r): r is ScimObject => typeof r === 'object' && r !== null && !Array.isArray(r)) : [],
      durationMs: res.durationMs,
    };
  }

  /**
   * GET `/<Users|Groups>?startIndex=…&count=…` without a filter (RFC 7644 §3.4.2.4): one page of the
   * listing, 1-based. `totalResults` is undefined when the app does not say; a 404 is an empty page.
   */
  async listPage(resourceType: ResourceTypeName, startIndex: number, count: number, opts: CallOptions = {}): Promise<ScimResponse<{ resources: ScimObject[]; totalResults?: number }>> {
    const res = await this.send('GET', `${endpoint(resourceType)}?startIndex=${startIndex}&count=${count}`, { allow404: true, ...opts });
    const list = res.body?.Resources;
    const total = res.body?.totalResults;
    return {
      status: res.status,
      body: {
        resources: Array.isArray(list) ? list.filter((r): r is ScimObject => typeof r === 'object' && r !== null && !Array.isArray(r)) : [],
        totalResults: typeof total === 'number' && Number.isFinite(total) ? total : undefined,
      },
      durationMs: res.durationMs,
    };
  }

  /** GET `/ServiceProviderConfig` (RFC 7644 §4): what the target supports (patch, filter, etag, bulk). */
  serviceProviderConfig(opts: CallOptions = {}): Promise<ScimResponse<ScimObject | undefined>> {
    return this.send('GET', '/ServiceProviderConfig', opts);
  }

  /** Closes the pools (target and token endpoint) after in-flight requests finish. */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.auth.close()]);
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    opts: { body?: unknown; allow404?: boolean; ignoreBody?: boolean; signal?: AbortSignal; ifMatch?: string },
  ): Promise<ScimResponse<ScimObject | undefined>> {
    const started = performance.now();
    let { status, responseHeaders, text, sent } = await this.exchange(method, path, opts, started);
    // RFC 6750 §3.1: an expired or revoked token is a 401; refreshable credentials get one more try.
    if (status === 401 && this.auth.rejected(sent)) ({ status, responseHeaders, text } = await this.exchange(method, path, opts, started));
    const durationMs = elapsed(started);

    if (status === 404 && opts.allow404) return { status, body: undefined, durationMs };
    const parsed = parseBody(text);
    const error = classifyResponse(status, responseHeaders, parsed);
    if (error) throw withDuration(error, started, durationMs);
    if (opts.ignoreBody || parsed === undefined) return { status, body: undefined, etag: headerValue(responseHeaders, 'etag'), durationMs };
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      // A 2xx we cannot read (a proxy's HTML page, a truncated body). A retried POST that did succeed ends in 409 → link.
      throw withDuration(new TargetError(TargetErrorKind.Retryable, { status, detail: 'response body is not a JSON object' }), started, durationMs);
    }
    const body = parsed as ScimObject;
    return { status, body, etag: headerValue(responseHeaders, 'etag') ?? metaVersion(body), durationMs };
  }

  /** Takes rate budget and credentials, then sends one HTTP request and reads the whole answer. */
  private async exchange(
    method: Dispatcher.HttpMethod,
    path: string,
    opts: { body?: unknown; signal?: AbortSignal; ifMatch?: string },
    started: number,
  ): Promise<{ status: number; responseHeaders: ResponseHeaders; text: string; sent: AuthHeaders }> {
    await this.budget?.acquire(opts.signal);
    let sent: AuthHeaders;
    try {
      sent = await this.auth.headers(opts.signal);
    } catch (err) {
      throw withDuration(classifyNetworkError(err), started);
    }
    const headers: Record<string, string> = { accept: `${SCIM_MEDIA_TYPE}, application/json`, ...sent };
    if (opts.body !== undefined) headers['content-type'] = SCIM_MEDIA_TYPE;
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    try {
      const res = await this.pool.request({
        method,
        path: this.basePath + path,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        headersTimeout: this.target.timeoutMs,
        bodyTimeout: this.target.timeoutMs,
        signal: opts.signal,
      });
      // Always drain the body, or the keep-alive connection cannot be reused.
      return { status: res.statusCode, responseHeaders: res.headers, text: await res.body.text(), sent };
    } catch (err) {
      throw withDuration(classifyNetworkError(err), started);
    }
  }
}

function endpoint(resourceType: ResourceTypeName): string {
  return resourceType === 'User' ? '/Users' : '/Groups';
}

function resourcePath(resourceType: ResourceTypeName, id: string): string {
  return `${endpoint(resourceType)}/${encodeURIComponent(id)}`;
}

function parseBody(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function metaVersion(body: ScimObject): string | undefined {
  const meta = body.meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const version = (meta as Record<string, unknown>).version;
  return typeof version === 'string' ? version : undefined;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function withDuration(error: TargetError, started: number, durationMs = elapsed(started)): TargetError {
  error.durationMs = durationMs;
  return error;
}
