import { Controller, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { HrIngressService } from './hr-ingress.service.js';
import type { RawBodyRequest } from './raw-body.middleware.js';

/**
 * `POST /hr/webhooks/{sourceId}` (DESIGN.md, Routes). HR sources authenticate by signature or token,
 * not by SCIM client tokens. The body arrives as raw bytes (`hrRawBody`, mounted in main.ts).
 * 202 accepted · 200 duplicate / handshake · 401 verification failed (nothing stored) · 404 unknown
 * source · 413 too large · rejected payloads: the source's `rejectStatus` (200 by default).
 */
@ApiExcludeController() // vendors' endpoint, not part of the admin API document
@Controller('hr/webhooks')
export class HrWebhookController {
  constructor(private readonly ingress: HrIngressService) {}

  @Post(':sourceId')
  async receive(@Param('sourceId') sourceId: string, @Req() req: RawBodyRequest, @Res() res: Response): Promise<void> {
    const source = this.ingress.source(sourceId);
    if (!source) {
      res.status(404).json({ error: { status: 404, code: 'not_found', message: `No HR source "${sourceId.slice(0, 64)}"` } });
      return;
    }
    const body = req.hrRawBody;
    if (!body || body.length > source.maxBodyBytes) {
      res.status(413).json({ error: { status: 413, code: 'too_large', message: `Body larger than ${source.maxBodyBytes} bytes` } });
      return;
    }
    const out = await this.ingress.receive(source, req.headers, body);
    res.status(out.status).json(out.body);
  }
}
