import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateIf, ValidateNested,
} from 'class-validator';
import { HrSettingsDto, HrSourceDto } from './hr-config.dto.js';
import { RateLimitDto, TargetAuthDto } from './target-auth.dto.js';

export { RateLimitDto, TargetAuthDto } from './target-auth.dto.js';
import { TargetProfileDto } from './profile-config.dto.js';
import { DeletionGuardDto } from './deletion-guard.dto.js';
import { MappingDto } from './mapping-config.dto.js';
import { SchemaConfigDto } from './schema-config.dto.js';

export { MappingDto } from './mapping-config.dto.js';

/** Scopes a SCIM client token may carry (DESIGN.md, auth/). */
export const CLIENT_SCOPES = ['scim:read', 'scim:write', 'admin:read', 'admin:write'] as const;
export type ClientScope = (typeof CLIENT_SCOPES)[number];

/** A SCIM client (IdP) allowed to call `/scim/v2`. Its bearer token is read from env var `tokenEnv`. */
export class ClientDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'id must be lowercase letters, digits and -' })
  id!: string;

  @Matches(/^[A-Z_][A-Z0-9_]*$/, { message: 'tokenEnv must name an environment variable (A-Z, 0-9, _)' })
  tokenEnv!: string;

  @IsArray() @ArrayNotEmpty() @IsIn(CLIENT_SCOPES as unknown as string[], { each: true })
  scopes!: ClientScope[];
}

export const DEPROVISION_ACTIONS = ['disable', 'delete', 'none'] as const;
export type DeprovisionAction = (typeof DEPROVISION_ACTIONS)[number];

/** Long form of `deprovision`: what each trigger does at the target. */
export class DeprovisionDto {
  @IsOptional() @IsIn(DEPROVISION_ACTIONS as unknown as string[]) onDeactivate?: DeprovisionAction;
  @IsOptional() @IsIn(DEPROVISION_ACTIONS as unknown as string[]) onOutOfScope?: DeprovisionAction;
  @IsOptional() @IsIn(DEPROVISION_ACTIONS as unknown as string[]) onDelete?: DeprovisionAction;
}

/** Retry policy for per-resource failures (5xx, timeouts). */
export class RetryDto {
  @IsOptional() @IsInt() @Min(1) @Max(100) attempts?: number;
  @IsOptional() @IsInt() @Min(1) backoffMs?: number;
  @IsOptional() @IsInt() @Min(1) maxBackoffMs?: number;
}

/** Circuit breaker for target-level failures (401/403, refused connections, a run of 5xx). */
export class CircuitDto {
  @IsOptional() @IsInt() @Min(1) failureThreshold?: number;
  @IsOptional() @IsInt() @Min(100) probeIntervalMs?: number;
}

/** A downstream app that speaks SCIM 2.0. `id` is stable: links are keyed by it. */
export class TargetDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'id must be lowercase letters, digits and - (it names a queue)' })
  id!: string;

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'baseUrl must be an http(s) URL' })
  baseUrl!: string;

  @ValidateNested() @Type(() => TargetAuthDto)
  auth!: TargetAuthDto;

  @IsOptional() @IsArray() @IsIn(['User', 'Group'], { each: true })
  resourceTypes?: Array<'User' | 'Group'>;

  /** `disable | delete | none`, or `{ onDeactivate, onOutOfScope, onDelete }`. */
  @IsOptional()
  deprovision?: DeprovisionAction | DeprovisionDto;

  @IsOptional() @IsIn(['core', 'none'])
  passThrough?: 'core' | 'none';

  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => MappingDto)
  mappings?: MappingDto[];

  /** SCIM filter on the canonical User; checked by normaliseTargetRules / compileTargetRules. */
  @IsOptional()
  scope?: unknown;

  /** `all | none | { filter }`; checked by normaliseTargetRules (mapping-config.dto.ts). */
  @IsOptional()
  groups?: unknown;

  /** `error | warn | off`: what an attribute unknown to the target's /Schemas does at start. */
  @IsOptional()
  schemaCheck?: unknown;

  @IsOptional() @IsInt() @Min(100) @Max(120000)
  timeoutMs?: number;

  @IsOptional() @IsInt() @Min(1) @Max(256)
  concurrency?: number;

  @IsOptional() @ValidateNested() @Type(() => RetryDto)
  retry?: RetryDto;

  @IsOptional() @ValidateNested() @Type(() => CircuitDto)
  circuit?: CircuitDto;

  /** Leave accounts that leave `scope` as they are (a recorded skip) instead of `deprovision.onOutOfScope`. */
  @IsOptional() @IsBoolean()
  skipOutOfScopeDeletions?: boolean;

  /** Mass-deletion guard (deletion-guard.dto.ts). */
  @IsOptional() @ValidateNested() @Type(() => DeletionGuardDto)
  deletionGuard?: DeletionGuardDto;

  /** Requests per window and pushes in flight, across all worker processes (see RateLimitDto). */
  @IsOptional() @ValidateNested() @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;

  /** Matching attributes: a list (Users) or `{ User, Group }`; checked in app-config (normaliseMatching). */
  @IsOptional()
  matching?: unknown;

  /** Quirk profile: a preset plus switches (profile-config.dto.ts). */
  @IsOptional() @ValidateNested() @Type(() => TargetProfileDto)
  profile?: TargetProfileDto;
}

/** Pipeline tunables; every field has a default. */
export class PipelineDto {
  @IsOptional() @IsInt() @Min(10) relayIntervalMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(5000) relayBatchSize?: number;
  @IsOptional() @IsInt() @Min(1000) sweepIntervalMs?: number;
  @IsOptional() @IsInt() @Min(1) outboxRetentionHours?: number;
  @IsOptional() @IsInt() @Min(1) pushLogRetentionDays?: number;
}

/** The whole `switchboard.yaml`. */
export class FileConfigDto {
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ClientDto)
  clients?: ClientDto[];

  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => TargetDto)
  targets?: TargetDto[];

  @IsOptional() @ValidateNested() @Type(() => PipelineDto)
  pipeline?: PipelineDto;

  @IsOptional() @IsArray() @IsString({ each: true })
  releasedTargets?: string[];

  /** HR webhook sources (src/config/hr-config.dto.ts). */
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => HrSourceDto)
  hrSources?: HrSourceDto[];

  /** Source precedence per attribute: `{ default: <sourceId>, <sourceId>: [paths] }` (checked in buildHrConfig). */
  @IsOptional()
  ownership?: Record<string, unknown>;

  @IsOptional() @ValidateNested() @Type(() => HrSettingsDto)
  hr?: HrSettingsDto;

  /** Custom SCIM extension schemas (RFC 7643 §3.3; src/config/schema-config.dto.ts). */
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => SchemaConfigDto)
  schemas?: SchemaConfigDto[];
}
