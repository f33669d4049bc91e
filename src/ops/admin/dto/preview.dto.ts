import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

const bool = ({ value }: { value: unknown }) => (value === 'true' || value === true ? true : value === 'false' || value === false ? false : value);

/** Query of `POST /admin/targets/{id}/preview`. */
export class PreviewQueryDto {
  @ApiPropertyOptional({ description: 'Ask the target (read-only GETs with the matching attributes) whether each would-be create links an existing account', default: false })
  @IsOptional() @Transform(bool) @IsBoolean()
  match?: boolean;

  @ApiPropertyOptional({ description: 'Samples per outcome', default: 5, minimum: 0, maximum: 100 })
  @IsOptional() @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value)) @IsInt() @Min(0) @Max(100)
  samples?: number;

  @ApiPropertyOptional({ description: 'Include attribute values in samples (default: attribute names only)', default: false })
  @IsOptional() @Transform(bool) @IsBoolean()
  values?: boolean;
}

class OutcomeCountsDto {
  @ApiProperty({ description: 'New accounts (offline, this includes accounts that may instead be linked)' }) create!: number;
  @ApiProperty({ description: 'Existing remote accounts that match (only with match=true)' }) link!: number;
  @ApiProperty({ description: 'Linked accounts whose mapped state changes' }) update!: number;
  @ApiProperty({ description: 'Disables, deletes or releases per the deprovision policy' }) deprovision!: number;
  @ApiProperty({ description: 'Linked and already equal' }) unchanged!: number;
  @ApiProperty({ description: 'Not provisioned and not wanted (out of scope, inactive, deleted)' }) skip!: number;
}

class PreviewSampleDto {
  @ApiProperty({ enum: ['User', 'Group'] }) resourceType!: string;
  @ApiProperty() resourceId!: string;
  @ApiPropertyOptional({ description: 'userName or displayName' }) name?: string;
  @ApiPropertyOptional({ enum: ['outOfScope', 'inactive', 'deleted'] }) reason?: string;
  @ApiPropertyOptional({ enum: ['disable', 'delete', 'none'] }) action?: string;
  @ApiPropertyOptional({ type: [String], description: 'update: attribute paths that change; create: attributes sent' }) attributes?: string[];
  @ApiPropertyOptional({ description: 'Only with values=true: PATCH operations or the payload' }) values?: unknown;
  @ApiPropertyOptional({ description: 'link: the matching remote id' }) remoteId?: string;
}

class PreviewSamplesDto {
  @ApiProperty({ type: [PreviewSampleDto] }) create!: PreviewSampleDto[];
  @ApiProperty({ type: [PreviewSampleDto] }) link!: PreviewSampleDto[];
  @ApiProperty({ type: [PreviewSampleDto] }) update!: PreviewSampleDto[];
  @ApiProperty({ type: [PreviewSampleDto] }) deprovision!: PreviewSampleDto[];
  @ApiProperty({ type: [PreviewSampleDto] }) unchanged!: PreviewSampleDto[];
  @ApiProperty({ type: [PreviewSampleDto] }) skip!: PreviewSampleDto[];
}

/** What a real run of the candidate target would do, over the whole population. Nothing is written or enqueued. */
export class PreviewReportDto {
  @ApiProperty() targetId!: string;
  @ApiProperty({ description: 'No link exists for this target id yet' }) newTarget!: boolean;
  @ApiProperty({ enum: ['offline', 'target'] }) matching!: string;
  @ApiProperty({ description: 'Resources examined' }) scanned!: number;
  @ApiProperty({ type: OutcomeCountsDto }) counts!: OutcomeCountsDto;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: '#/components/schemas/OutcomeCountsDto' } }) byResourceType!: Record<string, OutcomeCountsDto>;
  @ApiProperty({ type: 'object', description: '{ byAction: { disable, delete, none }, byReason: { outOfScope, inactive, deleted } }', additionalProperties: true }) deprovision!: Record<string, Record<string, number>>;
  @ApiProperty({ type: 'object', description: 'skip by reason', additionalProperties: { type: 'integer' } }) skip!: Record<string, number>;
  @ApiProperty({ type: 'object', description: 'update: resources changing each attribute', additionalProperties: { type: 'integer' } }) updatedAttributes!: Record<string, number>;
  @ApiProperty({ type: PreviewSamplesDto }) samples!: PreviewSamplesDto;
  @ApiProperty({ type: 'array', items: { type: 'object', properties: { resourceType: { type: 'string' }, resourceId: { type: 'string' }, error: { type: 'string' } } }, description: 'Resources whose mapping fails (a real push dead-letters them)' })
  errors!: Array<{ resourceType: string; resourceId: string; error: string }>;
  @ApiProperty({ type: [String] }) notes!: string[];
  @ApiProperty({ description: 'Wall time of the preview, ms' }) durationMs!: number;
}
