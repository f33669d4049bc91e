import 'reflect-metadata';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

/** When a mapping entry is sent: on every push (`always`), or only when the account is created or first linked. */
export const APPLY_ON = ['always', 'create'] as const;
export type ApplyOn = (typeof APPLY_ON)[number];

const RESOURCE_TYPES: string[] = ['User', 'Group'];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What `schemaCheck` does with a mapping target the target's `/Schemas` does not know. */
export const SCHEMA_CHECK_MODES = ['error', 'warn', 'off'] as const;
export type SchemaCheckMode = (typeof SCHEMA_CHECK_MODES)[number];

/**
 * One mapping entry (README "Attribute mappings"): produces the attribute `target` (a SCIM path at the
 * target: `title`, `name.givenName`, `emails[type eq "work"].value`, `urn:…:User:costCenter`) from
 * exactly one of a canonical `source` path, a constant `value` or a JSONata `expression`; `default`
 * applies when that yields null or nothing.
 */
export class MappingDto {
  @IsString() @MaxLength(1024)
  target!: string;

  @IsOptional() @IsString() @MaxLength(1024)
  source?: string;

  @IsOptional()
  value?: unknown;

  /** JSONata over the canonical resource, compiled at start (README "Expressions"). */
  @IsOptional() @IsString() @MaxLength(10_000)
  expression?: string;

  @IsOptional()
  default?: unknown;

  @IsOptional() @IsIn(APPLY_ON as unknown as string[])
  applyOn?: ApplyOn;

  /** Which resource type the entry maps (default User). */
  @IsOptional() @IsIn(RESOURCE_TYPES)
  resourceType?: 'User' | 'Group';
}

/** `groups: all | none | { filter }` — which canonical groups a target receives. */
export type GroupSelection = 'all' | 'none' | { filter: string };

/** One mapping entry, normalised: exactly one of `source` / `value` / `expression`; `applyOn` and `resourceType` set. */
export interface MappingConfig {
  target: string;
  source?: string;
  value?: unknown;
  expression?: string;
  default?: unknown;
  applyOn?: ApplyOn;
  resourceType?: 'User' | 'Group';
}

/** The keys of a target block that say what it receives (validated shapes; semantics compiled in src/mapping). */
export interface TargetRulesConfig {
  mappings: MappingConfig[];
  /** SCIM filter on the canonical User (may reference `groups.value` / `groups.display`); absent = every user. */
  scope?: string;
  groups: GroupSelection;
  schemaCheck: SchemaCheckMode;
}

/** The raw keys `normaliseTargetRules` reads from a TargetDto. */
export interface TargetRulesInput {
  mappings?: MappingDto[];
  scope?: unknown;
  groups?: unknown;
  schemaCheck?: unknown;
}

/**
 * Normalises `mappings`, `scope`, `groups` and `schemaCheck` of one target, pushing one line per problem
 * (`targets[0].mappings[2]: …`). Paths, filters and expressions are compiled later by
 * `compileTargetRules` (src/mapping), which reports their errors the same way.
 */
export function normaliseTargetRules(t: TargetRulesInput, where: string, problems: string[]): TargetRulesConfig {
  // class-validator has reported a non-list, a non-object entry and an unknown resource type; the config
  // fails anyway, so the list is not built on (dropping one entry would shift the others' indices).
  const wellFormed = (m: unknown) => isRecord(m) && (m.resourceType === undefined || RESOURCE_TYPES.includes(m.resourceType as string));
  const entries = Array.isArray(t.mappings) && t.mappings.every(wellFormed) ? t.mappings : [];
  const mappings = entries.map((m, j): MappingConfig => {
    const kinds = [m.source !== undefined, m.value !== undefined, m.expression !== undefined].filter(Boolean).length;
    if (kinds !== 1) problems.push(`${where}.mappings[${j}] (${m.target}): needs exactly one of source, value or expression`);
    const out: MappingConfig = { target: m.target, applyOn: m.applyOn ?? 'always', resourceType: m.resourceType ?? 'User' };
    if (m.source !== undefined) out.source = m.source;
    if (m.value !== undefined) out.value = m.value;
    if (m.expression !== undefined) out.expression = m.expression;
    if (m.default !== undefined) out.default = m.default;
    return out;
  });
  let scope: string | undefined;
  if (t.scope !== undefined && t.scope !== null) {
    if (typeof t.scope !== 'string' || !t.scope.trim()) problems.push(`${where}.scope: must be a SCIM filter string`);
    else scope = t.scope;
  }
  let groups: GroupSelection = 'all';
  if (t.groups === 'all' || t.groups === 'none') groups = t.groups;
  else if (typeof t.groups === 'object' && t.groups !== null && !Array.isArray(t.groups)) {
    const keys = Object.keys(t.groups);
    const filter = (t.groups as Record<string, unknown>).filter;
    if (keys.length !== 1 || typeof filter !== 'string' || !filter.trim()) problems.push(`${where}.groups: must be all, none or { filter: '<SCIM filter>' }`);
    else groups = { filter };
  } else if (t.groups !== undefined) problems.push(`${where}.groups: must be all, none or { filter: '<SCIM filter>' }`);
  let schemaCheck: SchemaCheckMode = 'error';
  if (t.schemaCheck !== undefined) {
    if ((SCHEMA_CHECK_MODES as readonly unknown[]).includes(t.schemaCheck)) schemaCheck = t.schemaCheck as SchemaCheckMode;
    else problems.push(`${where}.schemaCheck: must be error, warn or off`);
  }
  return { mappings, ...(scope !== undefined ? { scope } : {}), groups, schemaCheck };
}

