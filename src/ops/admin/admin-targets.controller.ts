import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireAdminScope } from '../../auth/admin-auth.guard.js';
import { AdminController, ProblemResponse } from './admin-api.decorator.js';
import { AdminTargetsService } from './admin-targets.service.js';
import { ResyncRequestDto, ResyncResultDto } from './dto/operations.dto.js';
import { TargetDetailDto, TargetListDto, TargetMappingsDto } from './dto/target.dto.js';

/** `/admin/targets`: what each downstream app is configured with and how it is doing; resync. */
@ApiTags('targets')
@AdminController()
@Controller('admin/targets')
export class AdminTargetsController {
  constructor(private readonly targets: AdminTargetsService) {}

  @Get()
  @RequireAdminScope('admin:read')
  @ApiOperation({ summary: 'List targets', description: 'Every configured target with its push queue counts, pause, circuit and quarantine state, and link counts by status.' })
  @ApiOkResponse({ type: TargetListDto })
  async list(): Promise<TargetListDto> {
    return { targets: await this.targets.list() };
  }

  @Get(':id')
  @RequireAdminScope('admin:read')
  @ApiOperation({ summary: 'One target', description: 'The resolved configuration (secrets only as the names of their environment variables: mappings, scope, matching, profile, rate budget, circuit, deletion guard) plus live state.' })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiOkResponse({ type: TargetDetailDto })
  @ProblemResponse(404, 'No such target')
  detail(@Param('id') id: string): Promise<TargetDetailDto> {
    return this.targets.detail(id);
  }

  @Get(':id/mappings')
  @RequireAdminScope('admin:read')
  @ApiOperation({ summary: 'Mappings of a target', description: 'The mapping entries in order, and the pass-through mode they override.' })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiOkResponse({ type: TargetMappingsDto })
  @ProblemResponse(404, 'No such target')
  mappings(@Param('id') id: string): TargetMappingsDto {
    return this.targets.mappings(id);
  }

  @Post(':id/resync')
  @HttpCode(202)
  @RequireAdminScope('admin:write')
  @ApiOperation({
    summary: 'Resync a target',
    description: 'Enqueues a push of every linked or live resource at low priority through the per-resource job key (a push already waiting is not doubled). `force` sends even unchanged state; `readBack` reads each remote account and repairs drift.',
  })
  @ApiParam({ name: 'id', example: 'app-one' })
  @ApiAcceptedResponse({ type: ResyncResultDto })
  @ProblemResponse(400, 'Invalid body (errors[] lists every problem)')
  @ProblemResponse(404, 'No such target')
  async resync(@Param('id') id: string, @Body() body: ResyncRequestDto): Promise<ResyncResultDto> {
    const r = await this.targets.resync(id, body.mode, body.resourceType);
    return { ...r, mode: body.mode };
  }
}
