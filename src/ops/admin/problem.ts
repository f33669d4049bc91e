import { HttpStatus } from '@nestjs/common';

/** Media type of every admin API error (RFC 9457 §3). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Problem types of the admin API; `about:blank` (RFC 9457 §4.2.1) covers plain HTTP statuses. */
export enum ProblemType {
  Blank = 'about:blank',
  /** Request body, path or query failed validation; `errors[]` lists every problem. */
  Validation = 'urn:switchboard:problem:validation',
  /** A candidate target block is not valid configuration; `errors[]` lists every bad key. */
  InvalidTarget = 'urn:switchboard:problem:invalid-target',
  /** The named target is not configured. */
  UnknownTarget = 'urn:switchboard:problem:unknown-target',
  /** The named resource does not exist in the canonical store. */
  UnknownResource = 'urn:switchboard:problem:unknown-resource',
  /** The target is not quarantined, so there is nothing to approve or reject. */
  NotQuarantined = 'urn:switchboard:problem:not-quarantined',
  /** A preview with matching would send a credential to a host it does not belong to. */
  CredentialsRefused = 'urn:switchboard:problem:credentials-refused',
  /** The operation needs a service this process does not run (e.g. the worker side). */
  Unavailable = 'urn:switchboard:problem:unavailable',
}

/** One validation problem: a JSON pointer-ish location and a message (no values echoed). */
export interface ProblemFieldError { pointer: string; detail: string }

/**
 * An RFC 9457 problem details object. `type`, `title`, `status`, `detail` and `instance` are the
 * RFC's members; `errors` is an extension member listing every validation problem.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemFieldError[];
}

/** A failure the admin API reports as problem details; thrown by admin services and controllers. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly type: ProblemType,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: ProblemFieldError[],
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }

  static validation(errors: ProblemFieldError[], detail = `${errors.length} validation problem(s)`): ProblemError {
    return new ProblemError(HttpStatus.BAD_REQUEST, ProblemType.Validation, 'Invalid request', detail, errors);
  }

  static invalidTarget(errors: ProblemFieldError[]): ProblemError {
    return new ProblemError(HttpStatus.BAD_REQUEST, ProblemType.InvalidTarget, 'Invalid target configuration', `${errors.length} configuration problem(s)`, errors);
  }

  static unknownTarget(id: string): ProblemError {
    return new ProblemError(HttpStatus.NOT_FOUND, ProblemType.UnknownTarget, 'Unknown target', `No target "${id}" is configured`);
  }

  static unknownResource(type: string, id: string): ProblemError {
    return new ProblemError(HttpStatus.NOT_FOUND, ProblemType.UnknownResource, 'Unknown resource', `No ${type} "${id}" exists`);
  }

  static unavailable(detail: string): ProblemError {
    return new ProblemError(HttpStatus.SERVICE_UNAVAILABLE, ProblemType.Unavailable, 'Service unavailable', detail);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** The HTTP reason phrase used as `title` of an `about:blank` problem (RFC 9457 §4.2.1). */
export function statusTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}
