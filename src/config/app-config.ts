import { readFileSync, existsSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config.error.js';
import { GroupSelection, MappingConfig, normaliseTargetRules, SchemaCheckMode } from './mapping-config.dto.js';
import { targetRuleProblems } from '../mapping/target-rules.js';
import { DeletionGuardConfig, normaliseDeletionGuard } from './deletion-guard.dto.js';
import { MatchingConfig, normaliseMatching, resolveProfile, TargetProfile } from './profile-config.dto.js';
import { EnvConfig, loadEnv } from './env.js';
import { normaliseRateLimit, normaliseTargetAuth, RateLimitConfig, TargetAuthConfig, targetSecretEnvs } from './target-auth.dto.js';
import { ClientScope, DEPROVISION_ACTIONS, DeprovisionAction, FileConfigDto, TargetDto } from './file-config.dto.js';
import { buildHrConfig, HrConfig, hrConfigProblems } from './hr-config.dto.js';
import { buildSchemasConfig, CustomSchemasConfig } from './schema-config.dto.js';

/** A SCIM client after validation; `tokenEnv` is resolved at auth time, never stored in config. */
export interface ClientConfig { id: string; tokenEnv: string; scopes: ClientScope[] }

export type { MappingConfig } from './mapping-config.dto.js';

/** What each deprovisioning trigger does at a target (groups are deleted or left, never disabled). */
export interface DeprovisionConfig { onDeactivate: DeprovisionAction; onOutOfScope: DeprovisionAction; onDelete: DeprovisionAction }

/** A downstream target after validation with every default applied. */
export interface TargetConfig {
  id: string;
  baseUrl: string;
  auth: TargetAuthConfig;
  resourceTypes: Array<'User' | 'Group'>;
  deprovision: DeprovisionConfig;
  passThrough: 'core' | 'none';
  mappings: MappingConfig[];
  /** SCIM filter on the canonical User (src/mapping/scope.ts); absent = every user is in scope. */
  scope?: string;
  /** Which groups the target receives; buildAppConfig sets it (absent = `all`). */
  groups?: GroupSelection;
  /** What a mapping target unknown to the target's /Schemas does at start; buildAppConfig sets it (absent = `error`). */
  schemaCheck?: SchemaCheckMode;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Max concurrent pushes for this target across the worker. */
  concurrency: number;
  retry: { attempts: number; backoffMs: number; maxBackoffMs: number };
  circuit: { failureThreshold: number; probeIntervalMs: number };
  /** Request budget and cross-process concurrency (target-auth.dto.ts); absent: no budget. */
  rateLimit?: RateLimitConfig;
  /** Leave out-of-scope accounts alone (a recorded skip) instead of `deprovision.onOutOfScope`. */
  skipOutOfScopeDeletions?: boolean;
  /** Mass-deletion guard thresholds. */
  deletionGuard?: DeletionGuardConfig;
  /** Matching attributes per resource type, tried in order. Always set by buildAppConfig (absent = defaults, DEFAULT_MATCHING). */
  matching?: MatchingConfig;
  /** Quirk profile with its preset applied. Always set by buildAppConfig (absent = `generic`). */
  profile?: TargetProfile;
}

export interface PipelineConfig {
  relayIntervalMs: number;
  relayBatchSize: number;
  sweepIntervalMs: number;
  outboxRetentionHours: number;
  pushLogRetentionDays: number;
}

/** The validated, typed configuration: env plus `switchboard.yaml`. */
export interface AppConfig {
  env: EnvConfig;
  clients: ClientConfig[];
  targets: TargetConfig[];
  pipeline: PipelineConfig;
  /** Target ids whose links may be released although the target left the config. */
  releasedTargets: string[];
  /** HR sources, source precedence (`ownership`) and the scheduled-change sweep. */
  hr: HrConfig;
  /** Custom SCIM extension schemas and the resource types they extend (`schemas:`), for the SchemaRegistry. */
  schemas: CustomSchemasConfig;
}

/** class-validator constraints that check the JSON type; when one fails, range and size checks say nothing useful. */
const TYPE_CONSTRAINTS = new Set(['isInt', 'isNumber', 'isString', 'isBoolean', 'isArray', 'isObject']);

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap(e => {
    const path = prefix ? (/^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`) : e.property;
    // `max: lots` fails isInt, min and max at once; only "must be an integer number" is true of it.
    const failed = Object.entries(e.constraints ?? {});
    const typeOnly = failed.filter(([name]) => TYPE_CONSTRAINTS.has(name));
    const own = (typeOnly.length ? typeOnly : failed).map(([, m]) => `${path}: ${m.replace(/^property \S+ /, '')}`);
    if (typeOnly.length) return own;
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

function normaliseDeprovision(raw: TargetDto['deprovision'], where: string, problems: string[]): DeprovisionConfig {
  const ok = (v: unknown): v is DeprovisionAction => typeof v === 'string' && (DEPROVISION_ACTIONS as readonly string[]).includes(v);
  if (raw === undefined) return { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'disable' };
  if (typeof raw === 'string') {
    if (!ok(raw)) problems.push(`${where}.deprovision: must be disable, delete, none or an object`);
    const a = ok(raw) ? raw : 'disable';
    return { onDeactivate: a, onOutOfScope: a, onDelete: a };
  }
  if (typeof raw !== 'object' || raw === null) {
    problems.push(`${where}.deprovision: must be disable, delete, none or an object`);
    return { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'disable' };
  }
  const out = { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'disable' } as DeprovisionConfig;
  for (const [k, v] of Object.entries(raw)) {
    if (!['onDeactivate', 'onOutOfScope', 'onDelete'].includes(k)) problems.push(`${where}.deprovision.${k}: unknown key`);
    else if (!ok(v)) problems.push(`${where}.deprovision.${k}: must be disable, delete or none`);
    else out[k as keyof DeprovisionConfig] = v;
  }
  return out;
}

/**
 * Validates a parsed `switchboard.yaml` document against env. Throws one ConfigError listing every
 * bad key (unknown keys included) — never a secret's value.
 */
export function buildAppConfig(doc: unknown, env: EnvConfig): AppConfig {
  const stage = { at: 'top level' };
  try {
    return buildChecked(doc, env, stage);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // Backstop only: every key is type-checked before it is normalised; a slip must still be a config error.
    throw new ConfigError(env.configPath, [`${stage.at}: could not be read (${e instanceof Error ? e.message : String(e)})`]);
  }
}

/** Only lists: class-validator has reported any other value, and normalising must not trip over it. */
const listOf = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);

function buildChecked(doc: unknown, env: EnvConfig, stage: { at: string }): AppConfig {
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new ConfigError(env.configPath, ['top level: must be a mapping']);
  }
  const dto = plainToInstance(FileConfigDto, doc ?? {});
  const problems = flatten(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }));
  // A non-object target was reported; not building on the list keeps the other targets' indices true.
  const rawTargets = listOf(dto.targets).every(t => typeof t === 'object' && t !== null) ? listOf(dto.targets) : [];
  const targets = rawTargets.map((t, i): TargetConfig => {
    const where = `targets[${i}]`;
    stage.at = where;
    const rules = normaliseTargetRules(t, where, problems);
    return {
      id: t.id,
      baseUrl: String(t.baseUrl ?? '').replace(/\/$/, ''),
      auth: normaliseTargetAuth(t.auth),
      resourceTypes: t.resourceTypes ?? ['User', 'Group'],
      deprovision: normaliseDeprovision(t.deprovision, where, problems),
      passThrough: t.passThrough ?? 'core',
      ...rules,
      timeoutMs: t.timeoutMs ?? 10000,
      concurrency: t.concurrency ?? 4,
      retry: { attempts: t.retry?.attempts ?? 8, backoffMs: t.retry?.backoffMs ?? 1000, maxBackoffMs: t.retry?.maxBackoffMs ?? 600000 },
      circuit: { failureThreshold: t.circuit?.failureThreshold ?? 5, probeIntervalMs: t.circuit?.probeIntervalMs ?? 5000 },
      rateLimit: normaliseRateLimit(t.rateLimit),
      skipOutOfScopeDeletions: t.skipOutOfScopeDeletions ?? false,
      deletionGuard: normaliseDeletionGuard(t.deletionGuard),
      matching: normaliseMatching(t.matching, where, problems),
      profile: resolveProfile(t.profile),
    };
  });
  const dup = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  for (const id of new Set(dup(targets.map(t => t.id)))) problems.push(`targets: duplicate id "${id}"`);
  const clients = listOf(dto.clients).filter(c => typeof c === 'object' && c !== null);
  for (const id of new Set(dup(clients.map(c => c.id)))) problems.push(`clients: duplicate id "${id}"`);
  stage.at = 'hr';
  const hr = buildHrConfig(dto.hrSources, dto.ownership, dto.hr, problems);
  stage.at = 'schemas';
  const schemas = buildSchemasConfig(dto.schemas, problems);
  stage.at = 'targets';
  problems.push(...targetRuleProblems(targets, schemas));
  stage.at = 'hr';
  problems.push(...hrConfigProblems(hr, schemas, clients.map(c => c.id)));
  stage.at = 'top level';
  if (problems.length) throw new ConfigError(env.configPath, problems);
  const p = dto.pipeline ?? {};
  return {
    env,
    clients: clients.map(c => ({ id: c.id, tokenEnv: c.tokenEnv, scopes: c.scopes })),
    targets,
    pipeline: {
      relayIntervalMs: p.relayIntervalMs ?? 200,
      relayBatchSize: p.relayBatchSize ?? 500,
      sweepIntervalMs: p.sweepIntervalMs ?? 60000,
      outboxRetentionHours: p.outboxRetentionHours ?? 24,
      pushLogRetentionDays: p.pushLogRetentionDays ?? 14,
    },
    releasedTargets: dto.releasedTargets ?? [],
    hr,
    schemas,
  };
}

/** Reads env and the YAML file named by `SWITCHBOARD_CONFIG`. A missing file is an error: without it no client can sign in. */
export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env): AppConfig {
  const env = loadEnv(processEnv);
  if (!existsSync(env.configPath)) {
    throw new ConfigError(env.configPath, ['file not found: copy switchboard.example.yaml to ./switchboard.yaml, or set SWITCHBOARD_CONFIG']);
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(env.configPath, 'utf8'));
  } catch (e) {
    throw new ConfigError(env.configPath, [`not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  return buildAppConfig(doc, env);
}

/** Env vars the configuration names (client tokens, target credentials) that are unset. */
export function missingSecrets(config: AppConfig, processEnv: NodeJS.ProcessEnv = process.env): string[] {
  const named = [
    ...config.clients.map(c => ({ what: `client ${c.id}`, env: c.tokenEnv })),
    ...config.targets.flatMap(t => targetSecretEnvs(t.auth).map(env => ({ what: `target ${t.id}`, env }))),
    ...(config.hr?.sources ?? []).flatMap(s => [...s.secretEnvs, ...(s.fetch?.tokenEnv ? [s.fetch.tokenEnv] : [])].map(env => ({ what: `hr source ${s.id}`, env }))),
  ];
  return named.filter(n => !processEnv[n.env]).map(n => `${n.env} (${n.what})`);
}

/** Reads a secret from the env var a config entry names. Only `config/` touches process.env. */
export function readSecret(name: string | undefined, processEnv: NodeJS.ProcessEnv = process.env): string | undefined {
  return name ? processEnv[name] : undefined;
}

/** Nest injection token for the validated AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
