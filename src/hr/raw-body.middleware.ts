import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest webhook body read (bytes); the source's own `maxBodyBytes` may be lower. */
export const HR_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The raw bytes of an HR webhook, attached by `hrRawBody` (undefined: too large). */
export interface RawBodyRequest extends IncomingMessage { hrRawBody?: Buffer; hrBodyTooLarge?: boolean }

/**
 * Reads `/hr/webhooks/*` request bodies as raw bytes before any body parser runs: signatures are over
 * the exact bytes sent, and an unparsable body must still reach the controller to be stored as
 * rejected. Once the stream is consumed the JSON / urlencoded parsers skip the request (body-parser
 * treats a finished request as parsed). Mounted in main.ts ahead of them.
 */
export function hrRawBody(req: RawBodyRequest, _res: ServerResponse, next: (err?: unknown) => void): void {
  if (req.method !== 'POST') return next();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > HR_MAX_BODY_BYTES) { req.hrBodyTooLarge = true; return; }
    chunks.push(c);
  });
  req.on('end', () => {
    if (!req.hrBodyTooLarge) req.hrRawBody = Buffer.concat(chunks);
    next();
  });
  req.on('error', next);
}
