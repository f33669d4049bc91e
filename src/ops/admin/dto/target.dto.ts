import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** BullMQ job counts of a target's `push.<targetId>` queue (a paused queue's jobs count as waiting). */
export class QueueCountsDto {
  @ApiProperty() waiting!: number;
  @ApiProperty() active!: number;
  @ApiProperty() delayed!: number;
  @ApiProperty({ description: 'Waiting jobs with a priority (sweeps, resyncs, provision on demand)' }) prioritized!: number;
  @ApiProperty({ description: 'Failed jobs kept for inspection' }) failed!: number;
}

/** Mass-deletion guard state of a target. */
export class QuarantineDto {
  @ApiProperty({ enum: ['none', 'quarantined', 'unknown'], description: '`quarantined`: the push queue is paused and deprovisions are held until an operator approves or rejects; `unknown` when Redis cannot be read', example: 'none' })
  state!: string;
  @ApiProperty({ nullable: true, type: String, description: 'ISO 8601 instant the quarantine began' }) since!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'more than 50 deprovisions within 60 min' }) reason!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Distinct resources deprovisioned in the current window' }) windowCount!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Deprovisions held while quarantined' }) held!: number | null;
  @ApiPropertyOptional({ description: 'The guard thresholds (maxDeprovisions, maxPercent, minLinkedForPercent, windowMinutes, enabled)', type: 'object', additionalProperties: true })
  limits?: Record<string, unknown>;
}

/** Circuit breaker state of a target, shared by every process (Redis). */
export class CircuitDto {
  @ApiProperty({ enum: ['closed', 'open', 'half-open', 'unknown'], example: 'closed' }) state!: string;
  @ApiProperty({ nullable: true, type: String, description: 'ISO 8601 instant of the last state change' }) since!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The failure that opened it, or the last probe failure' }) lastError!: string | null;
  @ApiProperty({ description: 'Consecutive retryable failures counted so far' }) failures!: number;
  @ApiProperty() failureThreshold!: number;
  @ApiProperty({ description: 'ms between probes while open' }) probeIntervalMs!: number;
}

/** One row of `GET /admin/targets`. */
export class TargetSummaryDto {
  @ApiProperty({ example: 'app-one' }) id!: string;
  @ApiProperty({ example: 'https://app.example.com/scim/v2' }) baseUrl!: string;
  @ApiProperty({ type: [String], example: ['User', 'Group'] }) resourceTypes!: string[];
  @ApiPropertyOptional({ type: QueueCountsDto, nullable: true, description: 'null when Redis is unreachable' }) queue!: QueueCountsDto | null;
  @ApiPropertyOptional({ nullable: true, description: 'Whether the push queue is paused (circuit open or quarantine); null when Redis is unreachable' }) paused!: boolean | null;
  @ApiProperty({ type: CircuitDto }) circuit!: CircuitDto;
  @ApiProperty({ type: QuarantineDto }) quarantine!: QuarantineDto;
  @ApiProperty({ description: 'Link counts by status (pending, synced, out_of_scope, deprovisioned, failed)', type: 'object', additionalProperties: { type: 'integer' }, example: { synced: 120, failed: 2 } })
  links!: Record<string, number>;
}

/** `GET /admin/targets`. */
export class TargetListDto {
  @ApiProperty({ type: [TargetSummaryDto] }) targets!: TargetSummaryDto[];
}

/** `GET /admin/targets/{id}`: the resolved configuration plus live state. */
export class TargetDetailDto extends TargetSummaryDto {
  @ApiProperty({
    description: 'The target as resolved at start (every default applied). Secrets appear only as the NAMES of the environment variables holding them (`tokenEnv`, `clientSecretEnv`, …).',
    type: 'object', additionalProperties: true,
  })
  config!: Record<string, unknown>;
}

/** `GET /admin/targets/{id}/mappings`. */
export class TargetMappingsDto {
  @ApiProperty({ example: 'app-one' }) targetId!: string;
  @ApiProperty({ description: '`core` sends core + enterprise attributes before mappings apply; `none` only mapped ones', example: 'core' }) passThrough!: string;
  @ApiProperty({ description: 'Mapping entries as configured, in order (target, source | value | expression, default, applyOn, resourceType)', type: 'array', items: { type: 'object', additionalProperties: true } })
  mappings!: Array<Record<string, unknown>>;
}
