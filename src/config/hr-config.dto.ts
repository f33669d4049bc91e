import 'reflect-metadata';
import { Type } from 'class-transformer';
import jsonata from 'jsonata';
import {
  ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested,
} from 'class-validator';
import { SchemaRegistry, SchemaRegistryOptions } from '../scim/schema/schema-registry.js';

/** HR source kinds (issue 5): Standard Webhooks, vendor presets of the one HMAC verifier, token kinds, and a free `hmac`. */
export const HR_KINDS = ['standard-webhooks', 'bamboohr', 'hibob', 'gusto', 'personio', 'rippling', 'hmac'] as const;
export type HrKind = (typeof HR_KINDS)[number];

/** Canonical actions an HR event can carry (the `action` expression must yield one of these). */
export const HR_ACTIONS = ['hire', 'update', 'terminate', 'cancel', 'ignore'] as const;
export type HrAction = (typeof HR_ACTIONS)[number];

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** One mapping entry: a canonical User attribute path (`name.givenName`, `urn:…:User:department`) from a JSONata expression. */
export class HrMappingDto {
  @IsString() @Matches(/^\S+$/, { message: 'target must be an attribute path without spaces' })
  target!: string;

  /** JSONata over the event payload (the fetched record is `record`). */
  @IsOptional() @IsString() expression?: string;

  /** Shorthand for a plain JSONata path; same evaluation as `expression`. */
  @IsOptional() @IsString() source?: string;

  @IsOptional() value?: unknown;
}

/**
 * Settings of the one configurable HMAC verifier. Every field overrides the kind's preset.
 * `signedContent` is a template over `{body}`, `{timestamp}`, `{id}` and `{header:<name>}`.
 */
export class HmacVerifierDto {
  @IsOptional() @IsIn(['sha1', 'sha256', 'sha512']) algorithm?: 'sha1' | 'sha256' | 'sha512';
  @IsOptional() @IsString() signatureHeader?: string;
  @IsOptional() @IsString() signedContent?: string;
  @IsOptional() @IsIn(['hex', 'base64']) encoding?: 'hex' | 'base64';
  /** Text before the signature in the header, e.g. `sha256=`. */
  @IsOptional() @IsString() prefix?: string;
  @IsOptional() @IsString() timestampHeader?: string;
  @IsOptional() @IsString() idHeader?: string;
}

/** Token kinds (personio, rippling): which header carries the shared secret, and its scheme. */
export class HrTokenAuthDto {
  @IsOptional() @IsString() header?: string;
  /** `Bearer` (default for Authorization) or '' for the raw value. */
  @IsOptional() @IsString() scheme?: string;
}

/** Adapter hook for slim events: GET the full employee record from the HR system's API. */
export class HrFetchDto {
  /** URL with `{employeeId}`, e.g. `https://api.example.com/v1/employees/{employeeId}`. */
  @IsString() @Matches(/^https?:\/\/\S+$/, { message: 'urlTemplate must be an http(s) URL' })
  urlTemplate!: string;

  @IsOptional() @Matches(ENV_NAME, { message: 'tokenEnv must name an environment variable' })
  tokenEnv?: string;

  @IsOptional() @IsInt() @Min(100) @Max(60000) timeoutMs?: number;
}

/** One HR source: `POST /hr/webhooks/{id}`. */
export class HrSourceDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'id must be lowercase letters, digits and -' })
  id!: string;

  @IsIn(HR_KINDS as unknown as string[])
  kind!: HrKind;

  /** Env var(s) holding the signing secret or token; two during a rotation. */
  @IsOptional()
  secretEnv?: string | string[];

  @IsOptional() @IsArray() @Matches(ENV_NAME, { each: true, message: 'secretEnvs must name environment variables' })
  secretEnvs?: string[];

  @IsOptional() @IsInt() @Min(1) @Max(86400) toleranceSeconds?: number;

  /** Rejects (401) events whose own timestamp (`sourceTimestamp`) is older than this; off by default (vendor retries). */
  @IsOptional() @IsInt() @Min(1) maxEventAgeSeconds?: number;

  @IsOptional() @ValidateNested() @Type(() => HmacVerifierDto) verifier?: HmacVerifierDto;
  @IsOptional() @ValidateNested() @Type(() => HrTokenAuthDto) auth?: HrTokenAuthDto;

  /** JSONata yielding the list of per-employee items when one delivery carries several (BambooHR `employees`). */
  @IsOptional() @IsString() split?: string;
  @IsOptional() @IsString() eventId?: string;
  @IsOptional() @IsString() employeeId?: string;
  @IsOptional() @IsString() action?: string;
  @IsOptional() @IsString() effectiveAt?: string;
  @IsOptional() @IsString() sourceTimestamp?: string;

  @IsOptional() @IsArray() @ArrayNotEmpty() @IsString({ each: true }) match?: string[];

  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => HrMappingDto) mappings?: HrMappingDto[];

  @IsOptional() @IsInt() @Min(0) @Max(365) preHireDays?: number;
  @IsOptional() @IsString() timezone?: string;
  /** Where a termination given as a date takes effect: end of that day (default) or its start. */
  @IsOptional() @IsIn(['end-of-day', 'start-of-day']) terminationAt?: 'end-of-day' | 'start-of-day';
  /** A hire provisioned before its start date stays `active: false` until then (default true). */
  @IsOptional() @IsBoolean() inactiveUntilStart?: boolean;

  @IsOptional() @ValidateNested() @Type(() => HrFetchDto) fetch?: HrFetchDto;

  /** HTTP status for stored-but-rejected payloads (see README, HR sources: retry semantics). */
  @IsOptional() @IsIn([200, 202, 400, 422]) rejectStatus?: 200 | 202 | 400 | 422;

  @IsOptional() @IsInt() @Min(1024) @Max(10 * 1024 * 1024) maxBodyBytes?: number;
}

/** Cadence of the scheduled-change sweep (backstop for lost `hr-due` jobs). */
export class HrSettingsDto {
  @IsOptional() @IsInt() @Min(100) sweepIntervalMs?: number;
  /** An `accepted` event older than this with no processing is re-enqueued by the sweep (lost job). */
  @IsOptional() @IsInt() @Min(100) staleAfterMs?: number;
}

// ---------------------------------------------------------------- normalised shapes

export interface HrMappingConfig { target: string; expression?: string; value?: unknown }

export interface HmacVerifierConfig {
  algorithm: 'sha1' | 'sha256' | 'sha512';
  signatureHeader: string;
  signedContent: string;
  encoding: 'hex' | 'base64';
  prefix: string;
  timestampHeader?: string;
  idHeader?: string;
}

/** An HR source after validation with every default and preset applied. */
export interface HrSourceConfig {
  id: string;
  kind: HrKind;
  /** Env vars of the accepted secrets, newest first. */
  secretEnvs: string[];
  toleranceSeconds: number;
  maxEventAgeSeconds?: number;
  /** Set for HMAC kinds (bamboohr, hibob, gusto, hmac). */
  hmac?: HmacVerifierConfig;
  /** Set for token kinds (personio, rippling). */
  token?: { header: string; scheme: string };
  split?: string;
  eventId?: string;
  employeeId: string;
  action: string;
  effectiveAt?: string;
  sourceTimestamp?: string;
  match: string[];
  mappings: HrMappingConfig[];
  preHireDays: number;
  timezone: string;
  terminationAt: 'end-of-day' | 'start-of-day';
  inactiveUntilStart: boolean;
  fetch?: { urlTemplate: string; tokenEnv?: string; timeoutMs: number };
  rejectStatus: 200 | 202 | 400 | 422;
  maxBodyBytes: number;
}

/** Source precedence per attribute: owner source id per attribute path, `default` for the rest. */
export interface OwnershipConfig {
  /** Source id owning every attribute not listed; undefined = no precedence rules at all. */
  default?: string;
  /** Lower-cased attribute path → owning source id. */
  owners: Map<string, string>;
}

export interface HrConfig {
  sources: HrSourceConfig[];
  ownership: OwnershipConfig;
  sweepIntervalMs: number;
  staleAfterMs: number;
}

/** Preset of the configurable HMAC verifier per kind, from each vendor's public documentation (README, HR sources). */
export const HMAC_PRESETS: Partial<Record<HrKind, HmacVerifierConfig>> = {
  // BambooHR: SHA-256 HMAC with the webhook's private key over the body followed by X-BambooHR-Timestamp, hex.
  bamboohr: { algorithm: 'sha256', signatureHeader: 'x-bamboohr-signature', signedContent: '{body}{timestamp}', encoding: 'hex', prefix: '', timestampHeader: 'x-bamboohr-timestamp' },
  // HiBob: HMAC-SHA512 of the request payload with the webhook's secret, in Bob-Signature.
  hibob: { algorithm: 'sha512', signatureHeader: 'bob-signature', signedContent: '{body}', encoding: 'base64', prefix: '' },
  // Gusto: HMAC-SHA256 of the event payload keyed by the subscription's verification token, in X-Gusto-Signature (hex).
  gusto: { algorithm: 'sha256', signatureHeader: 'x-gusto-signature', signedContent: '{body}', encoding: 'hex', prefix: '' },
  hmac: { algorithm: 'sha256', signatureHeader: 'x-signature', signedContent: '{body}', encoding: 'hex', prefix: '' },
};

/** Default JSONata per kind for the fields a vendor's payload fixes (each overridable in the source). */
export const KIND_DEFAULTS: Record<HrKind, { split?: string; eventId?: string; employeeId: string; action: string; sourceTimestamp?: string; effectiveAt?: string }> = {
  'standard-webhooks': {
    employeeId: 'data.employee.id',
    action: 'type = "employee.terminated" ? "terminate" : type = "employee.hired" ? "hire" : type = "employee.updated" ? "update" : type = "employee.termination_cancelled" ? "cancel" : undefined',
    sourceTimestamp: 'timestamp',
    effectiveAt: 'data.effectiveDate',
  },
  // One delivery lists several employees, each with its action, timestamp, fields and changedFields.
  bamboohr: {
    split: 'employees',
    employeeId: 'id',
    action: 'fields.status.value = "Inactive" or fields.employmentStatus.value = "Terminated" ? "terminate" : action = "Created" ? "hire" : action = "Deleted" ? "terminate" : action = "Updated" ? "update" : undefined',
    sourceTimestamp: 'timestamp',
    effectiveAt: 'fields.status.value = "Inactive" ? fields.terminationDate.value : action = "Created" ? fields.hireDate.value : undefined',
  },
  hibob: {
    eventId: 'id',
    employeeId: 'employee.id',
    action: 'type = "employee.created" ? "hire" : type = "employee.updated" ? "update" : type = "employee.left" ? "terminate" : type = "employee.deleted" ? "terminate" : undefined',
    sourceTimestamp: 'triggeredAt',
  },
  gusto: {
    eventId: 'uuid',
    employeeId: 'entity_uuid',
    action: 'event_type = "employee.created" ? "hire" : event_type = "employee.updated" ? "update" : event_type = "employee.terminated" ? "terminate" : event_type = "employee.deleted" ? "terminate" : event_type = "employee.rehired" ? "hire" : undefined',
    sourceTimestamp: 'timestamp',
  },
  personio: {
    employeeId: 'payload.id',
    action: '$contains(event_name, "created") ? "hire" : $contains(event_name, "deleted") ? "terminate" : $contains(event_name, "updated") ? "update" : undefined',
    sourceTimestamp: 'occurred_at',
  },
  rippling: {
    employeeId: 'id',
    action: 'event_name = "employee.created" or event_name = "employee.hired" ? "hire" : event_name = "employee.updated" ? "update" : event_name = "employee.deleted" or event_name = "employee.terminated" ? "terminate" : undefined',
  },
  hmac: { employeeId: 'employeeId', action: 'action' },
};

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user';

/** Lower-cases an attribute path for ownership lookups; the enterprise URN prefix stays, joined by `:`. */
export function ownershipKey(path: string): string {
  return path.toLowerCase();
}

/**
 * Normalises `hrSources` and `ownership` of `switchboard.yaml`; pushes problems (never secret values)
 * onto `problems`. `rawOwnership` is `{ default: <sourceId>, <sourceId>: [attribute paths] }`.
 */
export function buildHrConfig(sources: HrSourceDto[] | undefined, rawOwnership: unknown, settings: HrSettingsDto | undefined, problems: string[]): HrConfig {
  const out: HrSourceConfig[] = (sources ?? []).map((s, i) => {
    const where = `hrSources[${i}]`;
    const envs = [...(Array.isArray(s.secretEnv) ? s.secretEnv : s.secretEnv ? [s.secretEnv] : []), ...(s.secretEnvs ?? [])];
    for (const e of envs) if (typeof e !== 'string' || !ENV_NAME.test(e)) problems.push(`${where}.secretEnv: must name environment variables (A-Z, 0-9, _)`);
    if (!envs.length) problems.push(`${where}.secretEnv: required (the signing secret or token of this source)`);
    const d = KIND_DEFAULTS[s.kind] ?? KIND_DEFAULTS.hmac;
    const preset = HMAC_PRESETS[s.kind];
    const isToken = s.kind === 'personio' || s.kind === 'rippling';
    const hmac = preset ? { ...preset, ...stripUndefined(s.verifier ?? {}) } as HmacVerifierConfig : undefined;
    if (hmac) { hmac.signatureHeader = hmac.signatureHeader.toLowerCase(); hmac.timestampHeader = hmac.timestampHeader?.toLowerCase(); hmac.idHeader = hmac.idHeader?.toLowerCase(); }
    if (s.verifier && !preset) problems.push(`${where}.verifier: only HMAC kinds (bamboohr, hibob, gusto, hmac) take verifier settings`);
    if (s.timezone && !validTimeZone(s.timezone)) problems.push(`${where}.timezone: unknown IANA time zone "${s.timezone}"`);
    (s.mappings ?? []).forEach((m, j) => {
      const n = [m.expression, m.source, m.value].filter(v => v !== undefined).length;
      if (n !== 1) problems.push(`${where}.mappings[${j}]: needs exactly one of expression, source or value`);
      checkJsonata(m.expression ?? m.source, `${where} (${s.id}).mappings[${j}]`, problems);
    });
    for (const key of ['split', 'eventId', 'employeeId', 'action', 'effectiveAt', 'sourceTimestamp'] as const) checkJsonata(s[key], `${where} (${s.id}).${key}`, problems);
    return {
      id: s.id,
      kind: s.kind,
      secretEnvs: envs,
      toleranceSeconds: s.toleranceSeconds ?? 300,
      maxEventAgeSeconds: s.maxEventAgeSeconds,
      hmac,
      token: isToken ? { header: (s.auth?.header ?? 'authorization').toLowerCase(), scheme: s.auth?.scheme ?? (s.auth?.header && s.auth.header.toLowerCase() !== 'authorization' ? '' : 'Bearer') } : undefined,
      split: s.split ?? d.split,
      eventId: s.eventId ?? d.eventId,
      employeeId: s.employeeId ?? d.employeeId,
      action: s.action ?? d.action,
      effectiveAt: s.effectiveAt ?? d.effectiveAt,
      sourceTimestamp: s.sourceTimestamp ?? d.sourceTimestamp,
      match: s.match ?? ['employeeNumber', 'externalId'],
      mappings: (s.mappings ?? []).map(m => ({ target: m.target, expression: m.expression ?? m.source, value: m.value })),
      preHireDays: s.preHireDays ?? 0,
      timezone: s.timezone ?? 'UTC',
      terminationAt: s.terminationAt ?? 'end-of-day',
      inactiveUntilStart: s.inactiveUntilStart ?? true,
      fetch: s.fetch ? { urlTemplate: s.fetch.urlTemplate, tokenEnv: s.fetch.tokenEnv, timeoutMs: s.fetch.timeoutMs ?? 5000 } : undefined,
      rejectStatus: s.rejectStatus ?? 200,
      maxBodyBytes: s.maxBodyBytes ?? 1024 * 1024,
    };
  });
  const ids = out.map(s => s.id);
  for (const id of new Set(ids.filter((x, i) => ids.indexOf(x) !== i))) problems.push(`hrSources: duplicate id "${id}"`);
  return {
    sources: out,
    ownership: buildOwnership(rawOwnership, problems),
    sweepIntervalMs: settings?.sweepIntervalMs ?? 60_000,
    staleAfterMs: settings?.staleAfterMs ?? 60_000,
  };
}

function buildOwnership(raw: unknown, problems: string[]): OwnershipConfig {
  const owners = new Map<string, string>();
  if (raw === undefined || raw === null) return { owners };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('ownership: must be a mapping of source id → attribute list, plus `default`');
    return { owners };
  }
  let dflt: string | undefined;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === 'default') {
      if (typeof v !== 'string') problems.push('ownership.default: must be a source id');
      else dflt = v;
      continue;
    }
    if (!Array.isArray(v) || v.some(p => typeof p !== 'string')) { problems.push(`ownership.${k}: must be a list of attribute paths`); continue; }
    for (const p of v as string[]) {
      const key = ownershipKey(p);
      if (owners.has(key) && owners.get(key) !== k) problems.push(`ownership: "${p}" is owned by both ${owners.get(key)} and ${k}`);
      owners.set(key, k);
    }
  }
  if (!dflt && owners.size) problems.push('ownership.default: required when ownership lists attributes');
  return { default: dflt, owners };
}

/**
 * Checks that need the schemas and the client list (run by buildAppConfig after both are built):
 * every mapping target and `match` key names a writable User attribute of the configured schemas
 * (RFC 7643 §4.1, §7: readOnly attributes and `returned: never` ones such as `password` cannot come
 * from HR), and every source id in `ownership` is a client id or an HR source id.
 */
export function hrConfigProblems(hr: HrConfig, schemas: SchemaRegistryOptions, clientIds: readonly string[]): string[] {
  const problems: string[] = [];
  let registry: SchemaRegistry | undefined;
  try { registry = new SchemaRegistry(schemas); } catch { /* schema problems are reported by the schemas check */ }
  if (registry) {
    const r = registry;
    hr.sources.forEach((s, i) => {
      s.mappings.forEach((m, j) => {
        const at = r.tryResolve('User', m.target);
        if (!at || at.wholeSchema) problems.push(`hrSources[${i}] (${s.id}).mappings[${j}].target: "${m.target}" is not a User attribute`);
        else if (at.definition.mutability === 'readOnly' || at.definition.returned === 'never') {
          problems.push(`hrSources[${i}] (${s.id}).mappings[${j}].target: "${m.target}" cannot be set by an HR source (${at.definition.returned === 'never' ? 'never returned' : 'readOnly'})`);
        }
      });
      for (const key of s.match) {
        // `employeeNumber` and the other enterprise names are accepted bare, as the writer reads them.
        if (!r.tryResolve('User', key) && !r.tryResolve('User', `${ENTERPRISE}:${key}`)) problems.push(`hrSources[${i}] (${s.id}).match: "${key}" is not a User attribute`);
      }
    });
  }
  const known = new Set([...clientIds, ...hr.sources.map(s => s.id)]);
  const named = [...(hr.ownership.default !== undefined ? [['default', hr.ownership.default]] : []), ...[...new Set(hr.ownership.owners.values())].map(id => [id, id])];
  for (const [key, id] of named) {
    if (!known.has(id)) problems.push(`ownership.${key}: "${id}" is neither a client id nor an HR source id`);
  }
  return problems;
}

/** A JSONata expression that does not compile is a start-up error, not a failed event later. */
function checkJsonata(text: string | undefined, where: string, problems: string[]): void {
  if (text === undefined) return;
  try {
    jsonata(text);
  } catch (e) {
    problems.push(`${where}: invalid JSONata: ${(e as Error).message}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validTimeZone(tz: string): boolean {
  try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); return true; } catch { return false; }
}

/** The enterprise extension URN, lower-cased (ownership keys). */
export const ENTERPRISE_KEY = ENTERPRISE;
