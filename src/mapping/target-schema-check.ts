import { getCI, isObject } from '../common/json.util.js';
import type { Json } from '../common/json.util.js';
import type { TargetConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import type { Filter } from '../scim/filter/filter.ast.js';
import type { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { GROUP_SCHEMA, USER_SCHEMA } from '../scim/scim.constants.js';
import { rulesFor } from './target-rules.js';

/** One mapping target the target's `/Schemas` does not accept. */
export interface SchemaCheckFinding {
  /** Index in the target's `mappings`. */
  index: number;
  /** The mapping's `target` as configured. */
  path: string;
  /** Why, e.g. `attribute "costCentre" is not in urn:…:enterprise:2.0:User`. */
  reason: string;
}

/** RFC 7643 §3.1 common attributes: on every resource, never listed in `/Schemas`. */
const COMMON = new Set(['id', 'externalid', 'meta']);

/**
 * Checks every mapping target path of `target` against the target's `/Schemas` answer (RFC 7643 §7,
 * RFC 7644 §4: a ListResponse of schema representations, or a bare array). Pure.
 *
 * A finding is: a schema URN the target does not serve, an attribute or sub-attribute its schema lacks
 * (names compare case-insensitively, RFC 7643 §2.1), a valuePath filter on a sub-attribute it lacks, or an
 * attribute the target declares `readOnly` (it would ignore or refuse the write). Common attributes
 * (`externalId`) are never listed and always pass.
 * @returns findings; empty when everything is known. Undefined when `schemasJson` holds no schema list.
 */
export function checkTargetSchemas(target: TargetConfig, schemasJson: unknown, registry?: SchemaRegistry): SchemaCheckFinding[] | undefined {
  const list = Array.isArray(schemasJson) ? schemasJson : isObject(schemasJson) ? getCI(schemasJson, 'Resources') : undefined;
  if (!Array.isArray(list)) return undefined;
  const byUrn = new Map<string, Json>();
  for (const s of list) if (isObject(s) && typeof s.id === 'string') byUrn.set(s.id.toLowerCase(), s);
  const findings: SchemaCheckFinding[] = [];
  for (const m of rulesFor(target, registry).mappings) {
    const t = m.target;
    const finding = (reason: string) => findings.push({ index: m.index, path: m.config.target, reason });
    if (t.urn === undefined && COMMON.has(t.attr.toLowerCase())) continue;
    const urn = t.urn ?? (m.resourceType === 'User' ? USER_SCHEMA : GROUP_SCHEMA);
    const schema = byUrn.get(urn.toLowerCase());
    if (!schema) {
      finding(`schema ${urn} is not served by the target's /Schemas`);
      continue;
    }
    const attribute = named(schema.attributes, t.attr);
    if (!attribute) {
      finding(`attribute "${t.attr}" is not in ${urn}`);
      continue;
    }
    if (attribute.mutability === 'readOnly') {
      finding(`attribute "${t.attr}" is readOnly at the target`);
      continue;
    }
    const subs = attribute.subAttributes;
    for (const name of [...(t.sub !== undefined ? [t.sub] : []), ...filterAttributes(t.filter)]) {
      const sub = named(subs, name);
      if (!sub) finding(`sub-attribute "${t.attr}.${name}" is not in ${urn}`);
      else if (name === t.sub && sub.mutability === 'readOnly') finding(`sub-attribute "${t.attr}.${name}" is readOnly at the target`);
    }
  }
  return findings;
}

/** What `verifyTargetSchemas` did per target, for logs and tests. */
export interface SchemaCheckReport {
  targetId: string;
  /** `skipped` when `schemaCheck: off`, `unavailable` when /Schemas could not be read (never blocks start). */
  status: 'ok' | 'findings' | 'skipped' | 'unavailable';
  findings: SchemaCheckFinding[];
}

/**
 * Start-up check of every target (worker bootstrap). `fetchSchemas` GETs `<baseUrl>/Schemas` with the
 * target's credentials and returns the parsed body, or undefined / throws when the target serves none
 * or is unreachable — a target that is down at start must not stop the worker, so that is a warning.
 * `schemaCheck: error` (default) collects findings into one ConfigError naming target and entry;
 * `warn` passes each finding to `warn`; `off` skips the target.
 * @throws ConfigError when a target with `schemaCheck: error` has findings.
 */
export async function verifyTargetSchemas(
  targets: readonly TargetConfig[],
  fetchSchemas: (target: TargetConfig) => Promise<unknown>,
  warn: (message: string) => void,
  registry?: SchemaRegistry,
): Promise<SchemaCheckReport[]> {
  const reports = await Promise.all(targets.map(async (target): Promise<SchemaCheckReport> => {
    const mode = target.schemaCheck ?? 'error';
    if (mode === 'off' || target.mappings.length === 0) return { targetId: target.id, status: 'skipped', findings: [] };
    let body: unknown;
    try {
      body = await fetchSchemas(target);
    } catch (e) {
      warn(`target ${target.id}: /Schemas not checked (${(e as Error).message})`);
      return { targetId: target.id, status: 'unavailable', findings: [] };
    }
    const findings = body === undefined ? undefined : checkTargetSchemas(target, body, registry);
    if (!findings) {
      warn(`target ${target.id}: no /Schemas list served, mapping targets not checked`);
      return { targetId: target.id, status: 'unavailable', findings: [] };
    }
    return { targetId: target.id, status: findings.length ? 'findings' : 'ok', findings };
  }));
  const problems: string[] = [];
  for (const r of reports) {
    const target = targets.find(t => t.id === r.targetId)!;
    for (const f of r.findings) {
      const line = `target ${r.targetId}: mappings[${f.index}] (${f.path}): ${f.reason}`;
      if ((target.schemaCheck ?? 'error') === 'error') problems.push(`${line} (set schemaCheck: warn to start anyway)`);
      else warn(line);
    }
  }
  if (problems.length) throw new ConfigError('target /Schemas check', problems);
  return reports;
}

interface SchemaAttribute { name?: unknown; mutability?: unknown; subAttributes?: unknown }

function named(list: unknown, name: string): SchemaAttribute | undefined {
  if (!Array.isArray(list)) return undefined;
  const lower = name.toLowerCase();
  return list.find((a): a is SchemaAttribute => isObject(a) && typeof a.name === 'string' && a.name.toLowerCase() === lower);
}

/** Sub-attribute names a valuePath filter compares (`type` in `emails[type eq "work"]`). */
function filterAttributes(filter: Filter | undefined): string[] {
  if (!filter) return [];
  switch (filter.kind) {
    case 'and':
    case 'or':
      return [...filterAttributes(filter.left), ...filterAttributes(filter.right)];
    case 'not':
      return filterAttributes(filter.filter);
    case 'valuePath':
      return [];
    default:
      return filter.path.uri === undefined ? [filter.path.attr] : [];
  }
}
