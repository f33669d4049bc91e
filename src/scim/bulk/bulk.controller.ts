import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AuthedRequest, ScimAuthGuard } from '../../auth/scim-auth.guard.js';
import { newCorrelationId } from '../../common/ids.js';
import { WriteContext } from '../../identity/resource.types.js';
import { SCIM_MEDIA_TYPE } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';
import { ScimUrls } from '../scim-urls.js';
import { BULK_MAX_PAYLOAD_SIZE } from './bulk.constants.js';
import { BulkService } from './bulk.service.js';

/** `POST /scim/v2/Bulk` (RFC 7644 §3.7). A write: the guard requires `scim:write`. */
@UseGuards(ScimAuthGuard)
@Controller('scim/v2/Bulk')
export class BulkController {
  constructor(private readonly bulk: BulkService, private readonly urls: ScimUrls) {}

  /** 200 + BulkResponse; 413 over maxOperations / maxPayloadSize; 415 for a non-JSON body. */
  @Post()
  @HttpCode(200)
  async run(@Body() body: unknown, @Req() req: AuthedRequest & { rawBody?: Buffer }, @Res({ passthrough: true }) res: Response): Promise<string> {
    if (req.is(['application/json', 'application/*+json']) === false) {
      throw ScimError.unsupportedMediaType(`Content-Type must be ${SCIM_MEDIA_TYPE} or application/json`);
    }
    // RFC 7644 §3.7.4: maxPayloadSize is about the request as sent, so measure the raw bytes.
    const size = req.rawBody?.length ?? Buffer.byteLength(JSON.stringify(body ?? null));
    if (size > BULK_MAX_PAYLOAD_SIZE) throw ScimError.payloadTooLarge(`The size of the bulk operation exceeds the maxPayloadSize (${BULK_MAX_PAYLOAD_SIZE})`);
    const out = await this.bulk.process(body, this.ctx(req), this.urls.base(req));
    res.type(SCIM_MEDIA_TYPE);
    return JSON.stringify(out);
  }

  /** One write context for the whole request: every outbox row of the bulk shares its correlation id. */
  private ctx(req: AuthedRequest): WriteContext {
    const cid = req.headers['x-correlation-id'];
    return { origin: `scim:${req.principal?.clientId ?? 'unknown'}`, correlationId: typeof cid === 'string' && /^[\w-]{1,64}$/.test(cid) ? cid : newCorrelationId() };
  }
}
