import { Body, Controller, ForbiddenException, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireAdminScope } from '../../auth/admin-auth.guard.js';
import type { AuthedRequest } from '../../auth/scim-auth.guard.js';
import { AdminController, ProblemResponse } from './admin-api.decorator.js';
import { PreviewQueryDto, PreviewReportDto } from './dto/preview.dto.js';
import { PreviewService } from './preview.service.js';

/** `POST /admin/targets/{id}/preview`: dry run of a candidate target block. */
@ApiTags('targets')
@AdminController()
@Controller('admin/targets')
export class AdminPreviewController {
  constructor(private readonly previews: PreviewService) {}

  @Post(':id/preview')
  @HttpCode(200)
  // Nothing is written or enqueued, so a read token may preview; asking the target (match) needs write.
  @RequireAdminScope('admin:read')
  @ApiOperation({
    summary: 'Dry run of a target block',
    description: 'Given a candidate target block (one `targets:` entry of switchboard.yaml, as JSON or as YAML with `Content-Type: application/yaml`), reports for the WHOLE canonical population what a real run would do: create, update (which attributes, from the diff against each link\'s last pushed state), deprovision (out of scope, inactive, deleted, per the deprovision policy), unchanged, skip — with counts and samples (ids and attribute names; values with `values=true`). Link vs create is not knowable offline: `match=true` asks the target with read-only GETs (needs admin:write; the block may use a configured target\'s credentials only at that target\'s origin, and never the gateway\'s own secrets). Nothing is written and nothing is enqueued.',
  })
  @ApiParam({ name: 'id', description: 'Target id (new or configured); the block\'s `id` must equal it or be absent', example: 'app-two' })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ description: 'The candidate target block (same shape and validation as a `targets:` entry)', schema: { type: 'object', additionalProperties: true, example: { baseUrl: 'https://app.example.com/scim/v2', auth: { type: 'bearer', tokenEnv: 'APP_TWO_TOKEN' }, deprovision: 'disable', mappings: [{ target: 'title', source: 'title' }] } } })
  @ApiOkResponse({ type: PreviewReportDto })
  @ProblemResponse(400, 'Invalid target block or query (errors[] lists every problem)')
  preview(@Param('id') id: string, @Query() query: PreviewQueryDto, @Body() body: unknown, @Req() req: AuthedRequest): Promise<PreviewReportDto> {
    if (query.match && !req.principal?.scopes.has('admin:write')) throw new ForbiddenException('match=true calls the target: it needs the admin:write scope');
    return this.previews.preview(id, body, { match: query.match, samples: query.samples, includeValues: query.values });
  }
}
