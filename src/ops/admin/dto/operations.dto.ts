import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

export const RESYNC_MODES = ['live', 'force', 'readBack'] as const;

/** `POST /admin/targets/{id}/resync` body. */
export class ResyncRequestDto {
  @ApiProperty({ enum: RESYNC_MODES, description: '`live`: push only what differs from the last pushed state; `force`: send even when the hash is unchanged; `readBack`: GET each remote account and repair drift' })
  @IsIn(RESYNC_MODES as unknown as string[])
  mode!: (typeof RESYNC_MODES)[number];

  @ApiPropertyOptional({ enum: ['User', 'Group'], description: 'Only this resource type (default: every type the target handles)' })
  @IsOptional() @IsIn(['User', 'Group'])
  resourceType?: 'User' | 'Group';
}

/** `POST /admin/targets/{id}/resync` answer. */
export class ResyncResultDto {
  @ApiProperty({ description: 'Run id; the jobs carry correlation id `resync-<runId>`', example: 'mf2k3j9a' }) runId!: string;
  @ApiProperty({ description: 'Pushes enqueued. A resource whose push is already waiting is not doubled (the per-resource key keeps that one, with its own mode); a running one gets exactly one follow-up.', example: 1200 }) enqueued!: number;
  @ApiProperty({ enum: RESYNC_MODES }) mode!: string;
  @ApiProperty({ type: [String] }) resourceTypes!: string[];
}

/** `POST /admin/targets/{id}/quarantine/approve|reject` answer. */
export class QuarantineDecisionDto {
  @ApiProperty({ example: 'app-one' }) targetId!: string;
  @ApiProperty({ enum: ['approved', 'rejected'] }) decision!: string;
  @ApiProperty({ description: 'Client id of the admin token that decided', example: 'ops-console' }) by!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What the deletion guard reports after the decision' }) result!: Record<string, unknown>;
}

/** Provision on demand: what one push did, step by step (src/targets/push-trace.ts). */
export class PushTraceDto {
  @ApiProperty({ example: 'app-one' }) targetId!: string;
  @ApiProperty({ enum: ['User', 'Group'] }) resourceType!: string;
  @ApiProperty() resourceId!: string;
  @ApiProperty({ enum: RESYNC_MODES }) mode!: string;
  @ApiPropertyOptional({ description: 'The push job id' }) jobId?: string;
  @ApiProperty({ description: 'Attempt number of the traced run' }) attempt!: number;
  @ApiProperty() startedAt!: string;
  @ApiProperty({ description: 'ms' }) durationMs!: number;
  @ApiProperty({ description: '`created`, `linked`, `updated`, `unchanged`, `disabled`, `deleted`, `left`, `skipped`, `held`, `failed`, or `pending` (202: still running)', example: 'created' })
  outcome!: string;
  @ApiPropertyOptional() error?: string;
  @ApiProperty({
    description: 'Steps in order, each with `at` (ms since start) and `kind`: `scope` (decision), `match` (attempts, result), `map` (payload), `reference`, `diff` (base, operations, via), `http` (method, path, status, durationMs), `members`, `note`',
    type: 'array', items: { type: 'object', additionalProperties: true },
  })
  steps!: Array<Record<string, unknown>>;
}

/** Query of `POST /admin/targets/{id}/provision/{resourceType}/{resourceId}`. */
export class ProvisionQueryDto {
  @ApiPropertyOptional({ enum: RESYNC_MODES, default: 'live', description: '`force` sends even an unchanged state; `readBack` diffs against the remote account' })
  @IsOptional() @IsIn(RESYNC_MODES as unknown as string[])
  mode?: (typeof RESYNC_MODES)[number];

  @ApiPropertyOptional({ description: 'How long to wait for the push, ms (1000–120000, default 30000); after that the answer is 202 and the push goes on', default: 30000 })
  @IsOptional() @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value)) @IsInt() @Min(1000) @Max(120_000)
  waitMs?: number;
}
