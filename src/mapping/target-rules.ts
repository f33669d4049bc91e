import { createHash } from 'node:crypto';
import type { Json } from '../common/json.util.js';
import type { TargetConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import type { ApplyOn, MappingConfig } from '../config/mapping-config.dto.js';
import { SchemaRegistry, type SchemaRegistryOptions } from '../scim/schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA, ResourceTypeName } from '../scim/scim.constants.js';
import { compileSourcePath, compileTargetPath, SourcePath, TargetPath } from './attribute-path.js';
import { canonicalDocument, CanonicalSource, isCanonicalSource } from './canonical-document.js';
import { canonicalJson } from './canonical-json.js';
import { compileExpression, CompiledExpression } from './expression.js';
import { MappingError } from './mapping.error.js';
import { compileGroupSelection, compileUserScope, GroupRef } from './scope.js';
import { checkValueType, expectedShape } from './value-type.js';

/** One mapping entry, compiled. */
export interface CompiledMapping {
  /** Position in the target's `mappings` list, for messages. */
  readonly index: number;
  readonly config: MappingConfig;
  readonly resourceType: ResourceTypeName;
  readonly applyOn: ApplyOn;
  readonly target: TargetPath;
  readonly source?: SourcePath;
  readonly expression?: CompiledExpression;
}

/**
 * What a removal of `path` (lower-cased diff path: `title`, `name.givenname`, `urn:…:user:department`)
 * may do at the target: `remove` it, leave it alone (`keep`: not mapped any more, or `applyOn: create`),
 * or `descend` into its sub-attributes because only some of them are owned.
 */
export type RemovalIntent = 'remove' | 'keep' | 'descend';

/** Which attributes the current mapping owns, per resource type; `diffMapped` asks it before any `remove`. */
export interface DiffIntent {
  removal(path: string): RemovalIntent;
}

/** A target's mappings, scope and group selection, compiled once at start. */
export interface TargetRules {
  readonly targetId: string;
  /** Mapping entries in configured order. */
  readonly mappings: readonly CompiledMapping[];
  /**
   * Users: the `scope` filter (true without one), with `groups` standing in for the user's memberships.
   * Groups: `groupSelected`. False for a resource type the target does not take (`resourceTypes`).
   */
  inScope(resource: CanonicalSource, groups?: readonly GroupRef[]): boolean;
  /** `groups: all | none | { filter }` on the canonical Group: a StoredResource, or its bare document. */
  groupSelected(group: CanonicalSource | Json): boolean;
  /** The scope reads `groups.*`: membership changes must re-evaluate the members they touch. */
  readonly referencesGroups: boolean;
  /** `targetRulesHash(target)`: changes when mappings, pass-through, scope, groups or resource types change. */
  readonly hash: string;
  /** Removal intent for the diff of one resource type. */
  intent(resourceType: ResourceTypeName): DiffIntent;
}

/** The attributes `passThrough: core` sends; read-only, write-only and Switchboard-owned ones never pass. */
export const NOT_PASSED_THROUGH = new Set(['id', 'meta', 'groups', 'password', 'schemas', 'externalid']);

const defaultRegistry = new SchemaRegistry();
const cache = new WeakMap<TargetConfig, TargetRules>();

/**
 * Compiles every mapping path, expression and filter of a target. Pure apart from JSONata compilation.
 * `registry` resolves attribute names and extension URNs (defaults to the core User + Enterprise + Group).
 * @throws ConfigError listing every bad entry: `target app-one: mappings[2] (displayName): …`.
 */
export function compileTargetRules(target: TargetConfig, registry: SchemaRegistry = defaultRegistry): TargetRules {
  const problems: string[] = [];
  const at = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof MappingError)) throw e;
      problems.push(`target ${target.id}: ${what}: ${e.message}`);
    }
  };
  const mappings: CompiledMapping[] = [];
  target.mappings.forEach((config, index) => at(`mappings[${index}] (${config.target})`, () => {
    const resourceType = config.resourceType ?? 'User';
    const label = `${target.id}.mappings[${index}] ${config.target}`;
    mappings.push({
      index,
      config,
      resourceType,
      applyOn: config.applyOn ?? 'always',
      target: compileTargetPath(config.target, registry, resourceType),
      ...(config.source !== undefined ? { source: compileSourcePath(config.source, registry, resourceType) } : {}),
      ...(config.expression !== undefined ? { expression: compileExpression(config.expression, label) } : {}),
    });
  }));
  checkConstantTypes(target, mappings, problems);
  checkCreateOnlyConflicts(target, mappings, problems);
  let scope = compileUserScope(undefined, registry);
  at('scope', () => { scope = compileUserScope(target.scope, registry); });
  let groupSelected: (doc: Json) => boolean = () => true;
  at('groups.filter', () => { groupSelected = compileGroupSelection(target.groups ?? 'all', registry); });
  if (problems.length) throw new ConfigError('switchboard.yaml', problems);

  const takes = (type: ResourceTypeName) => target.resourceTypes.includes(type);
  const intents = new Map<ResourceTypeName, DiffIntent>();
  return {
    targetId: target.id,
    mappings,
    inScope: (resource, groups) => {
      if (!takes(resource.resourceType)) return false;
      const doc = canonicalDocument(resource);
      return resource.resourceType === 'Group' ? groupSelected(doc) : scope.inScope(doc, groups);
    },
    groupSelected: group => takes('Group') && groupSelected(isCanonicalSource(group) ? canonicalDocument(group) : group),
    referencesGroups: scope.referencesGroups,
    hash: targetRulesHash(target),
    intent: type => {
      let intent = intents.get(type);
      if (!intent) intents.set(type, (intent = buildIntent(target, mappings, type)));
      return intent;
    },
  };
}

/** The compiled rules of a configured target, compiled on first use and cached per TargetConfig object. */
export function rulesFor(target: TargetConfig, registry?: SchemaRegistry): TargetRules {
  let rules = cache.get(target);
  if (!rules) cache.set(target, (rules = compileTargetRules(target, registry)));
  return rules;
}

/**
 * Compiles every target's rules (start-up: `buildAppConfig`) and returns the problems as ConfigError lines,
 * without throwing. `schemas` is the SchemaRegistry, or the options to build it from (custom extension
 * schemas); options that do not build a registry are reported by the schema config, so nothing here.
 */
export function targetRuleProblems(targets: readonly TargetConfig[], schemas?: SchemaRegistry | SchemaRegistryOptions): string[] {
  let registry: SchemaRegistry | undefined;
  try {
    registry = schemas instanceof SchemaRegistry ? schemas : new SchemaRegistry(schemas);
  } catch {
    return [];
  }
  return targets.flatMap(t => {
    try {
      rulesFor(t, registry);
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  });
}

/**
 * sha256 (hex) of what decides the content a target should hold: `passThrough`, `mappings`, `scope`,
 * `groups` and `resourceTypes`. The reconcile sweep backfills a target whose stored hash differs.
 * Stable across key order and YAML formatting.
 */
export function targetRulesHash(target: TargetConfig): string {
  const basis = {
    passThrough: target.passThrough,
    resourceTypes: [...target.resourceTypes].sort(),
    mappings: target.mappings.map(m => ({ ...m, applyOn: m.applyOn ?? 'always', resourceType: m.resourceType ?? 'User' })),
    scope: target.scope ?? null,
    groups: target.groups ?? 'all',
  };
  return createHash('sha256').update(canonicalJson(basis)).digest('hex');
}

/**
 * An attribute is mapped one way: a create-only entry may not overlap an `always` entry, and a
 * create-only element inside a multi-valued attribute that pass-through also sends cannot work (the
 * diff replaces a multi-valued attribute whole, which would drop the create-only element).
 */
function checkCreateOnlyConflicts(target: TargetConfig, mappings: CompiledMapping[], problems: string[]): void {
  const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  for (const m of mappings) {
    if (m.applyOn !== 'create') continue;
    const clash = mappings.find(o => o.applyOn === 'always' && o.resourceType === m.resourceType && overlaps(o.target.intentKey, m.target.intentKey));
    if (clash) {
      problems.push(`target ${target.id}: mappings[${m.index}] (${m.config.target}): applyOn create overlaps mappings[${clash.index}] (${clash.config.target}), which is applyOn always; map an attribute one way`);
      continue;
    }
    if (!(m.target.filter || m.target.attribute?.multiValued)) continue;
    const key = m.target.intentKey;
    const alwaysWrites = mappings.some(o => o.applyOn === 'always' && o.resourceType === m.resourceType && o.target.intentKey === key)
      || (target.passThrough === 'core' && passesThrough(m.resourceType, key));
    if (alwaysWrites) {
      problems.push(`target ${target.id}: mappings[${m.index}] (${m.config.target}): applyOn create inside "${m.target.attr}", which is also sent on every update (multi-valued attributes are replaced whole); map the whole attribute with applyOn create, or use passThrough: none`);
    }
  }
}

/** A constant `value` or `default` of the wrong type for a known target attribute is refused at start. */
function checkConstantTypes(target: TargetConfig, mappings: CompiledMapping[], problems: string[]): void {
  for (const m of mappings) {
    const shape = expectedShape(m.target);
    if (!shape) continue;
    for (const key of ['value', 'default'] as const) {
      const constant = m.config[key];
      if (constant === undefined || constant === null) continue;
      const checked = checkValueType(constant, shape.def, shape.multi);
      if ('problem' in checked) problems.push(`target ${target.id}: mappings[${m.index}] (${m.config.target}): ${key} for ${shape.where} ${checked.problem}`);
    }
  }
}

/** Whether `passThrough: core` sends the attribute at this lower-cased intent key. */
function passesThrough(type: ResourceTypeName, key: string): boolean {
  const ent = ENTERPRISE_USER_SCHEMA.toLowerCase();
  if (key.startsWith('urn:')) return type === 'User' && key.startsWith(`${ent}:`);
  const top = key.split('.')[0]!;
  return !NOT_PASSED_THROUGH.has(top) && !(type === 'Group' && top === 'members');
}

function buildIntent(target: TargetConfig, mappings: readonly CompiledMapping[], type: ResourceTypeName): DiffIntent {
  const own = mappings.filter(m => m.resourceType === type);
  const always = own.filter(m => m.applyOn === 'always').map(m => m.target.intentKey);
  const createOnly = own.filter(m => m.applyOn === 'create').map(m => m.target.intentKey);
  const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}:`);
  return {
    removal(raw: string): RemovalIntent {
      const path = raw.toLowerCase();
      if (createOnly.some(c => under(path, c))) return 'keep';
      const owned = (target.passThrough === 'core' && passesThrough(type, path)) || always.some(a => under(path, a));
      if (createOnly.some(c => under(c, path))) return 'descend';
      if (owned) return 'remove';
      return always.some(a => under(a, path)) ? 'descend' : 'keep';
    },
  };
}

