import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { newCorrelationId } from '../../common/ids.js';
import { PROBLEM_MEDIA_TYPE, ProblemDetails, ProblemError, ProblemFieldError, ProblemType, statusTitle } from './problem.js';

/** Path prefix whose errors are problem details. */
export const ADMIN_PATH = '/admin';

/**
 * Renders every admin API error as RFC 9457 problem details (`application/problem+json`): ProblemError,
 * Nest HttpExceptions (guards' 401/403, ValidationPipe's 400 with `errors[]`), body-parser failures
 * (malformed JSON/YAML, too large) and anything unexpected (500 with a correlation id; details only in
 * the log). Bound to the admin controllers with `@UseFilters`; errors raised before routing (body
 * parser, unknown `/admin` path) reach it through {@link RoutingExceptionFilter}.
 */
@Catch()
export class AdminProblemFilter implements ExceptionFilter {
  private readonly log = new Logger(AdminProblemFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const problem = describe(exception);
    problem.instance = req.originalUrl ?? req.url;
    if (problem.status >= 500) this.log.error({ err: exception, path: req.path }, problem.detail);
    if (res.headersSent) return;
    // RFC 6750 §3: a 401 names the scheme; a 403 for a missing scope says which error.
    if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard-admin"');
    if (problem.status === 403) res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard-admin", error="insufficient_scope"');
    res.status(problem.status).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(problem));
  }
}

/**
 * Global filter that routes by path: `/admin…` → problem details, everything else → `fallback` (the SCIM
 * error filter), so SCIM routes keep SCIM Errors.
 */
@Catch()
export class RoutingExceptionFilter implements ExceptionFilter {
  private readonly admin = new AdminProblemFilter();

  constructor(private readonly fallback: ExceptionFilter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const path = req.path ?? '';
    if (path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`)) return this.admin.catch(exception, host);
    return this.fallback.catch(exception, host);
  }
}

function describe(e: unknown): ProblemDetails {
  if (e instanceof ProblemError) {
    return { type: e.type, title: e.title, status: e.status, ...(e.detail ? { detail: e.detail } : {}), ...(e.errors ? { errors: e.errors } : {}) };
  }
  const anyE = e as { type?: string; status?: number; message?: string };
  // body-parser errors carry `type` and `status` (express).
  if (anyE?.type === 'entity.parse.failed') return parseFailure(e);
  if (anyE?.type === 'entity.too.large') return blank(413, 'Request body is too large');
  if (anyE?.type === 'encoding.unsupported' || anyE?.type === 'charset.unsupported') return blank(415, String(anyE.message));
  if (e instanceof HttpException) {
    const status = e.getStatus();
    // Nest's Express adapter turns body-parser SyntaxErrors into a 400 carrying the parser error as cause.
    const cause = e.cause as { type?: string } | undefined;
    if (status === 400 && (cause instanceof SyntaxError || cause?.type === 'entity.parse.failed')) return parseFailure(cause);
    const body = e.getResponse();
    const msg = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    if (status === 400 && Array.isArray(msg)) {
      // ValidationPipe: one message per constraint, "property must be …".
      const errors: ProblemFieldError[] = msg.map(m => ({ pointer: pointerOf(String(m)), detail: String(m) }));
      return { type: ProblemType.Validation, title: 'Invalid request', status, detail: `${errors.length} validation problem(s)`, errors };
    }
    return blank(status, String(Array.isArray(msg) ? msg.join('; ') : msg ?? e.message));
  }
  if (typeof anyE?.status === 'number' && anyE.status >= 400 && anyE.status < 500) return blank(anyE.status, String(anyE.message ?? 'Bad request'));
  return blank(500, `Internal error (correlation id ${newCorrelationId()})`);
}

/**
 * body-parser's strict mode refuses any top-level value but an object or array with the same error as
 * broken JSON; its `body` (the raw text) tells the two apart, so `null` or `"x"` is not called invalid JSON.
 */
function parseFailure(e: unknown): ProblemDetails {
  const raw = (e as { body?: unknown } | undefined)?.body;
  if (typeof raw === 'string') {
    try {
      JSON.parse(raw);
      return blank(400, 'Request body must be a JSON object');
    } catch {
      // Falls through: it really is not JSON.
    }
  }
  return blank(400, 'Request body is not valid JSON');
}

function blank(status: number, detail: string): ProblemDetails {
  return { type: ProblemType.Blank, title: statusTitle(status), status, detail };
}

/**
 * `/mode` from "mode must be one of …", `/extra` from "property extra should not exist"; nested
 * "a.b.c must …" → `/a/b/c` (RFC 6901 pointer into the body or query).
 */
function pointerOf(message: string): string {
  const unknown = /^property (\S+) should not exist/.exec(message);
  const first = unknown ? unknown[1] : message.split(' ')[0] ?? '';
  return /^[\w.[\]-]+$/.test(first) ? `/${first.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean).join('/')}` : '';
}
