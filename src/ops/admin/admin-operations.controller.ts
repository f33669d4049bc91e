import { Controller, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireAdminScope } from '../../auth/admin-auth.guard.js';
import type { AuthedRequest } from '../../auth/scim-auth.guard.js';
import { ResourceService } from '../../identity/resource.service.js';
import { JobQueueService } from '../../pipeline/job-queue.service.js';
import { DeletionGuardError, DeletionGuardService } from '../../targets/deletion-guard.service.js';
import type { PushTraceJson } from '../../targets/push-trace.js';
import { AdminController, ProblemResponse } from './admin-api.decorator.js';
import { AdminTargetsService } from './admin-targets.service.js';
import { ProvisionQueryDto, PushTraceDto, QuarantineDecisionDto } from './dto/operations.dto.js';
import { ProblemError, ProblemType } from './problem.js';

/** Default wait of provision on demand, ms. */
const PROVISION_WAIT_MS = 30_000;

/** Operations on one target: quarantine decisions and provision on demand. */
@ApiTags('targets')
@AdminController()
@Controller('admin/targets')
export class AdminOperationsController {
  constructor(
    private readonly targets: AdminTargetsService,
    private readonly guard: DeletionGuardService,
    private readonly jobs: JobQueueService,
    private readonly resources: ResourceService,
  ) {}

  @Post(':id/quarantine/approve')
  @HttpCode(200)
  @RequireAdminScope('admin:write')
  @ApiOperation({ summary: 'Approve held deprovisions', description: 'The target was quarantined by the mass-deletion guard: let the held disables/deletes proceed, reset the window and resume the queue. Recorded with the client id of the token.' })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiOkResponse({ type: QuarantineDecisionDto })
  @ProblemResponse(404, 'No such target')
  @ProblemResponse(409, 'The target is not quarantined')
  approve(@Param('id') id: string, @Req() req: AuthedRequest): Promise<QuarantineDecisionDto> {
    return this.decide(id, req, 'approved');
  }

  @Post(':id/quarantine/reject')
  @HttpCode(200)
  @RequireAdminScope('admin:write')
  @ApiOperation({ summary: 'Reject held deprovisions', description: 'Drop the held disables/deletes (each becomes a recorded skip; links stay), reset the window and resume the queue. Recorded with the client id of the token.' })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiOkResponse({ type: QuarantineDecisionDto })
  @ProblemResponse(404, 'No such target')
  @ProblemResponse(409, 'The target is not quarantined')
  reject(@Param('id') id: string, @Req() req: AuthedRequest): Promise<QuarantineDecisionDto> {
    return this.decide(id, req, 'rejected');
  }

  @Post(':id/provision/:resourceType/:resourceId')
  @HttpCode(200)
  @RequireAdminScope('admin:write')
  @ApiOperation({
    summary: 'Provision on demand',
    description: 'Pushes one resource to the target now, through the same per-resource job key as every push (never beside a running push of it: an active one finishes first), waits, and returns each step: scope decision, match, mapped payload, diff, HTTP calls, result. Still running after `waitMs` → 202 with the job id (the push goes on).',
  })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiParam({ name: 'resourceType', enum: ['User', 'Group'] })
  @ApiParam({ name: 'resourceId', description: 'Canonical id (as in /scim/v2)' })
  @ApiOkResponse({ type: PushTraceDto, description: 'The push finished (outcome `failed` carries the error; it is retried or dead-lettered as usual)' })
  @ApiAcceptedResponse({ type: PushTraceDto, description: 'Still running after the wait (outcome `pending`)' })
  @ProblemResponse(400, 'Invalid resource type or query')
  @ProblemResponse(404, 'No such target or resource')
  async provision(
    @Param('id') id: string, @Param('resourceType') resourceType: string, @Param('resourceId') resourceId: string,
    @Query() query: ProvisionQueryDto, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response,
  ): Promise<PushTraceJson> {
    const target = this.targets.target(id);
    if (resourceType !== 'User' && resourceType !== 'Group') throw ProblemError.validation([{ pointer: '/resourceType', detail: 'resourceType must be User or Group' }]);
    if (!target.resourceTypes.includes(resourceType)) throw ProblemError.validation([{ pointer: '/resourceType', detail: `target ${id} does not take ${resourceType} resources` }]);
    const resource = await this.resources.findAny(resourceId);
    if (!resource || resource.resourceType !== resourceType) throw ProblemError.unknownResource(resourceType, resourceId);
    const trace = await this.jobs.provisionNow(id, resourceType, resourceId, query.mode ?? 'live', {
      timeoutMs: query.waitMs ?? PROVISION_WAIT_MS, correlationId: `demand-${req.principal?.clientId ?? 'admin'}-${Date.now().toString(36)}`,
    });
    if (trace.outcome === 'pending') res.status(HttpStatus.ACCEPTED);
    return trace;
  }

  private async decide(id: string, req: AuthedRequest, decision: 'approved' | 'rejected'): Promise<QuarantineDecisionDto> {
    this.targets.target(id);
    const by = req.principal?.clientId ?? 'unknown';
    try {
      const status = decision === 'approved' ? await this.guard.approve(id, by) : await this.guard.reject(id, by);
      return { targetId: id, decision, by, result: { ...status } };
    } catch (e) {
      if (e instanceof DeletionGuardError && e.code === 'not_quarantined') {
        throw new ProblemError(HttpStatus.CONFLICT, ProblemType.NotQuarantined, 'Target not quarantined', e.message);
      }
      if (e instanceof DeletionGuardError) throw ProblemError.unknownTarget(id);
      throw e;
    }
  }
}
