/**
 * How a failed call to a target should be handled. The job explorer is the one place that turns a kind
 * into BullMQ semantics (STYLE.md §3): retry with backoff, open the circuit, dead-letter, or rate-limit
 * the target's queue.
 */
export enum TargetErrorKind {
  /** 5xx, 408, timeout, connection reset: retry with backoff. */
  Retryable = 'retryable',
  /** 401/403, connection refused, unknown host: the whole target is unusable; open its circuit. */
  TargetDown = 'target-down',
  /** A problem with this one resource (400, 409, other 4xx): retrying cannot help; dead-letter it. */
  Permanent = 'permanent',
  /** 429: pause every job of this target for `retryAfterMs`. */
  Throttled = 'throttled',
}

/** Longest target-supplied `detail` kept on an error; targets sometimes echo whole HTML pages. */
export const TARGET_DETAIL_MAX = 300;

export interface TargetErrorInit {
  /** HTTP status, when the target answered. */
  status?: number;
  /** RFC 7644 §3.12 `scimType` from the target's error body. */
  scimType?: string;
  /** How long to wait before trying again (Retry-After, or the default for 429). */
  retryAfterMs?: number;
  /** The target's own `detail`, or a network error code. Truncated to {@link TARGET_DETAIL_MAX}. */
  detail?: string;
}

/**
 * A classified failure of a call to a target, thrown by `ScimClient`. Handlers do not catch it.
 * The message is built only from the kind, status, scimType and the (truncated) target detail: it never
 * contains attribute values we sent, URLs with credentials, or secrets.
 */
export class TargetError extends Error {
  readonly kind: TargetErrorKind;
  readonly status?: number;
  readonly scimType?: string;
  readonly retryAfterMs?: number;
  readonly detail: string;
  /**
   * The message without the target's `detail`: kind, status, scimType, Retry-After only. Use it where
   * the text leaves the SQL store (dead letters in Redis): a target's detail often echoes the attribute
   * values we sent (`userName "x" is already taken`).
   */
  readonly summary: string;
  /** How long the failed attempt took, for the push log; set by `ScimClient`. */
  durationMs?: number;

  constructor(kind: TargetErrorKind, init: TargetErrorInit = {}) {
    const detail = truncateDetail(init.detail ?? '');
    const parts = [
      init.status !== undefined ? `HTTP ${init.status}` : undefined,
      init.scimType,
      init.retryAfterMs !== undefined ? `retry after ${init.retryAfterMs} ms` : undefined,
    ].filter((p): p is string => p !== undefined);
    const summary = `target ${kind}${parts.length ? ` (${parts.join(', ')})` : ''}`;
    super(`${summary}${detail ? `: ${detail}` : ''}`);
    this.name = 'TargetError';
    this.summary = summary;
    this.kind = kind;
    this.status = init.status;
    this.scimType = init.scimType;
    this.retryAfterMs = init.retryAfterMs;
    this.detail = detail;
  }
}

function truncateDetail(detail: string): string {
  const oneLine = detail.replace(/\s+/g, ' ').trim();
  return oneLine.length > TARGET_DETAIL_MAX ? `${oneLine.slice(0, TARGET_DETAIL_MAX - 1)}…` : oneLine;
}
