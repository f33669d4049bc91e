import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsOptional, IsString, MaxLength, ValidateNested,
} from 'class-validator';
import { SchemaConfigError, SchemaRegistry, type SchemaRegistryOptions } from '../scim/schema/schema-registry.js';
import type { AttributeDefinition, AttributeType, Mutability, Returned, SchemaDefinition, Uniqueness } from '../scim/schema/schema.types.js';

const ATTRIBUTE_TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'binary', 'reference', 'complex'];
const MUTABILITY = ['readOnly', 'readWrite', 'immutable', 'writeOnly'];
const RETURNED = ['always', 'never', 'default', 'request'];
const UNIQUENESS = ['none', 'server', 'global'];
const RESOURCE_TYPES = ['User', 'Group'];

/**
 * One attribute of a custom extension schema, with the characteristics of RFC 7643 §7. Omitted
 * ones take the RFC 7643 §2.2 defaults: single-valued, not required, caseExact false, readWrite,
 * returned default, uniqueness none.
 */
export class AttributeConfigDto {
  @IsString() @MaxLength(128)
  name!: string;

  @IsIn(ATTRIBUTE_TYPES, { message: `type must be one of ${ATTRIBUTE_TYPES.join(', ')}` })
  type!: AttributeType;

  @IsOptional() @IsString()
  description?: string;

  @IsOptional() @IsBoolean() multiValued?: boolean;
  @IsOptional() @IsBoolean() required?: boolean;
  @IsOptional() @IsBoolean() caseExact?: boolean;

  @IsOptional() @IsIn(MUTABILITY, { message: `mutability must be one of ${MUTABILITY.join(', ')}` })
  mutability?: Mutability;

  @IsOptional() @IsIn(RETURNED, { message: `returned must be one of ${RETURNED.join(', ')}` })
  returned?: Returned;

  @IsOptional() @IsIn(UNIQUENESS, { message: `uniqueness must be one of ${UNIQUENESS.join(', ')}` })
  uniqueness?: Uniqueness;

  @IsOptional() @IsArray() @IsString({ each: true })
  canonicalValues?: string[];

  /** For `type: reference`: resource type names, `external` or `uri`. */
  @IsOptional() @IsArray() @ArrayNotEmpty() @IsString({ each: true })
  referenceTypes?: string[];

  /** For `type: complex` only; a sub-attribute is never complex itself (RFC 7643 §2.3.8). */
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => AttributeConfigDto)
  subAttributes?: AttributeConfigDto[];
}

/**
 * A company's own extension schema (RFC 7643 §3.3, §7) in `switchboard.yaml` under `schemas:`.
 * It is served by `/Schemas`, listed in the `schemaExtensions` of the resource type(s) it extends
 * (`resourceType`, with `required`), and validated, filtered, sorted, projected and patched like the
 * Enterprise extension.
 */
export class SchemaConfigDto {
  /** The schema URN, e.g. `urn:acme:scim:schemas:1.0:User`; the key of its attributes in a resource. */
  @IsString()
  id!: string;

  @IsString()
  name!: string;

  @IsOptional() @IsString()
  description?: string;

  /** `User`, `Group`, or a list of both. */
  @IsIn(RESOURCE_TYPES, { each: true, message: 'resourceType must be User, Group or a list of them' })
  resourceType!: 'User' | 'Group' | Array<'User' | 'Group'>;

  /** RFC 7643 §6 `schemaExtensions.required`: every resource of the type must carry the extension. Default false. */
  @IsOptional() @IsBoolean()
  required?: boolean;

  @IsArray() @ArrayNotEmpty() @ValidateNested({ each: true }) @Type(() => AttributeConfigDto)
  attributes!: AttributeConfigDto[];
}

/** Custom schemas after validation: what `new SchemaRegistry(...)` takes. */
export type CustomSchemasConfig = Required<Pick<SchemaRegistryOptions, 'schemas' | 'extensions'>>;

/**
 * Turns the validated `schemas:` entries into registry options and checks them the way the registry
 * will at start (URN form and namespace, duplicate or clashing URNs and attribute names, types,
 * sub-attributes, referenceTypes, writeOnly/returned). Appends one line per problem to `problems`.
 */
export function buildSchemasConfig(dtos: readonly SchemaConfigDto[] | undefined, problems: string[]): CustomSchemasConfig {
  // Wrong shapes were reported by class-validator already; only well-formed entries are built on.
  const list = (Array.isArray(dtos) ? (dtos as readonly SchemaConfigDto[]) : []).filter((d) => d && typeof d === 'object');
  const config: CustomSchemasConfig = {
    schemas: list.map((d): SchemaDefinition => ({
      id: String(d.id),
      name: String(d.name),
      description: d.description ?? '',
      attributes: attributeList(d.attributes).map(toAttribute),
    })),
    extensions: list.flatMap((d) => (Array.isArray(d.resourceType) ? d.resourceType : [d.resourceType])
      .filter((t) => typeof t === 'string')
      .map((resourceType) => ({ resourceType, schema: String(d.id), required: d.required ?? false }))),
  };
  if (list.length === 0 || problems.some((p) => p.startsWith('schemas'))) return config;
  try {
    new SchemaRegistry(config);
  } catch (error) {
    if (!(error instanceof SchemaConfigError)) throw error;
    problems.push(...error.problems.map((p) => `schemas: ${p}`));
  }
  return config;
}

/** The attribute objects of a list; anything else (a string, null) was reported by class-validator. */
function attributeList(raw: unknown): AttributeConfigDto[] {
  return Array.isArray(raw) ? raw.filter((a): a is AttributeConfigDto => typeof a === 'object' && a !== null) : [];
}

function toAttribute(a: AttributeConfigDto): AttributeDefinition {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description ?? '',
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? 'readWrite',
    // No implied `never` for writeOnly: the README requires it explicitly, the registry refuses the rest.
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.canonicalValues ? { canonicalValues: a.canonicalValues } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    ...(a.subAttributes !== undefined ? { subAttributes: attributeList(a.subAttributes).map(toAttribute) } : {}),
  };
}
