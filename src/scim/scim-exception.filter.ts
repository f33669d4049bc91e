import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { newCorrelationId } from '../common/ids.js';
import { ERROR_SCHEMA, SCIM_MEDIA_TYPE } from './scim.constants.js';
import { ScimError, ScimType } from './scim.error.js';

/** Renders a SCIM Error response (RFC 7644 §3.12). */
export function sendScimError(res: Response, status: number, detail: string, scimType?: string): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard"');
  res.status(status).type(SCIM_MEDIA_TYPE).send(JSON.stringify({
    schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail,
  }));
}

/**
 * The only place that writes SCIM error bodies. Every failure under `/scim/v2` — ScimError, body
 * parser errors (malformed JSON → 400 invalidSyntax), unknown routes, anything unexpected (→ 500 with a
 * correlation id, details only in the log) — leaves as a SCIM Error with `application/scim+json`.
 * Other paths get the admin error shape `{ error: { status, code, message } }`.
 */
@Catch()
export class ScimExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('ScimExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const { status, detail, scimType } = this.describe(exception);
    if (status >= 500) this.log.error({ err: exception, path: req.path }, detail);
    if (res.headersSent) return;
    if (req.path.startsWith('/scim/')) return sendScimError(res, status, detail, scimType);
    res.status(status).json({ error: { status, code: scimType ?? httpCode(status), message: detail } });
  }

  private describe(e: unknown): { status: number; detail: string; scimType?: string } {
    if (e instanceof ScimError) return { status: e.status, detail: e.detail, scimType: e.scimType };
    const anyE = e as { type?: string; status?: number; statusCode?: number; message?: string };
    // body-parser errors carry `type` and `status` (express): malformed JSON, too large, bad charset.
    if (anyE?.type === 'entity.parse.failed') return { status: 400, detail: 'Request body is not valid JSON', scimType: ScimType.InvalidSyntax };
    if (anyE?.type === 'entity.too.large') return { status: 413, detail: 'Request body is too large' };
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const body = e.getResponse();
      const msg = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      const detail = Array.isArray(msg) ? msg.join('; ') : String(msg ?? e.message);
      if (status === 400) return { status, detail, scimType: ScimType.InvalidSyntax };
      return { status, detail };
    }
    if (typeof anyE?.status === 'number' && anyE.status >= 400 && anyE.status < 500) {
      return { status: anyE.status, detail: String(anyE.message ?? 'Bad request') };
    }
    return { status: 500, detail: `Internal error (correlation id ${newCorrelationId()})` };
  }
}

function httpCode(status: number): string {
  return ({ 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 412: 'precondition_failed', 413: 'payload_too_large' } as Record<number, string>)[status] ?? (status >= 500 ? 'internal' : 'error');
}
