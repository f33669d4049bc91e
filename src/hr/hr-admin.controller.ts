import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { FindOptionsWhere, In, LessThan } from 'typeorm';
import { DbService } from '../db/db.service.js';
import { AdminController } from '../ops/admin/admin-api.decorator.js';
import { HrEventEntity } from './hr-event.entity.js';
import { ScheduledChangeEntity } from './scheduled-change.entity.js';

/** `GET /admin/hr/events` filters; newest first, paged by `before` (a received_at instant). */
export class HrEventQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() source?: string;
  @ApiPropertyOptional({ enum: ['accepted', 'rejected', 'applied', 'ignored', 'failed'] })
  @IsOptional() @IsIn(['accepted', 'rejected', 'applied', 'ignored', 'failed']) status?: HrEventEntity['status'];
  @ApiPropertyOptional() @IsOptional() @IsString() employeeId?: string;
  @ApiPropertyOptional({ description: 'ISO instant: only events received before it (next page)' }) @IsOptional() @IsString() before?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}

/** `GET /admin/hr/scheduled-changes` filters. */
export class ScheduledChangeQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() source?: string;
  @ApiPropertyOptional({ enum: ['pending', 'applied', 'cancelled', 'superseded', 'failed'] })
  @IsOptional() @IsIn(['pending', 'applied', 'cancelled', 'superseded', 'failed']) status?: ScheduledChangeEntity['status'];
  @ApiPropertyOptional() @IsOptional() @IsString() employeeId?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}

/**
 * Operators' view of HR ingress (issue 5: rejected payloads are visible): stored events with status and
 * reason (the raw payload only per event, it holds personal data) and effective-dated changes. `admin:read`.
 */
@ApiTags('hr')
@AdminController()
@Controller('admin/hr')
export class HrAdminController {
  constructor(private readonly db: DbService) {}

  @Get('events')
  @ApiOperation({ summary: 'HR events, newest first (no payloads)' })
  async events(@Query() q: HrEventQueryDto) {
    const where: FindOptionsWhere<HrEventEntity> = {};
    if (q.source) where.sourceId = q.source;
    if (q.status) where.status = q.status;
    if (q.employeeId) where.employeeId = q.employeeId;
    if (q.before) where.receivedAt = LessThan(q.before);
    const rows = await this.db.manager.find(HrEventEntity, {
      where, order: { receivedAt: 'DESC' }, take: q.limit ?? 100,
      select: { id: true, sourceId: true, eventId: true, receivedAt: true, sourceTs: true, action: true, employeeId: true, status: true, reason: true, processedAt: true },
    });
    return { items: rows, next: rows.length === (q.limit ?? 100) ? rows[rows.length - 1].receivedAt : null };
  }

  @Get('events/:id')
  @ApiOperation({ summary: 'One HR event with its raw payload and scheduled changes' })
  async event(@Param('id') id: string) {
    const ev = await this.db.manager.findOneBy(HrEventEntity, { id });
    if (!ev) throw new NotFoundException(`No HR event ${id.slice(0, 64)}`);
    const changes = await this.db.manager.findBy(ScheduledChangeEntity, { hrEventId: id });
    return { ...ev, scheduledChanges: changes };
  }

  @Get('scheduled-changes')
  @ApiOperation({ summary: 'Effective-dated HR changes, soonest first' })
  async scheduled(@Query() q: ScheduledChangeQueryDto) {
    const where: FindOptionsWhere<ScheduledChangeEntity> = {};
    if (q.source) where.sourceId = q.source;
    if (q.status) where.status = q.status;
    if (q.employeeId) where.employeeId = q.employeeId;
    const items = await this.db.manager.find(ScheduledChangeEntity, { where, order: { effectiveAt: 'ASC' }, take: q.limit ?? 100 });
    // A failed row's reason lives on its HR event (scheduled_change has no reason column).
    const failed = items.filter(c => c.status === 'failed').map(c => c.hrEventId);
    const reasons = new Map(failed.length
      ? (await this.db.manager.find(HrEventEntity, { select: { id: true, reason: true }, where: { id: In(failed) } })).map(e => [e.id, e.reason])
      : []);
    return { items: items.map(c => (c.status === 'failed' ? { ...c, reason: reasons.get(c.hrEventId) ?? null } : c)) };
  }
}
