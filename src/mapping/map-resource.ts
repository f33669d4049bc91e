import type { TargetConfig } from '../config/app-config.js';
import { getCI, isObject, keyCI } from '../common/json.util.js';
import type { Json } from '../common/json.util.js';
import type { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim/scim.constants.js';
import type { TargetPath } from './attribute-path.js';
import { canonicalDocument } from './canonical-document.js';
import type { GroupRef } from './scope.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';
import { CompiledMapping, NOT_PASSED_THROUGH, rulesFor } from './target-rules.js';
import { checkValueType, expectedShape } from './value-type.js';

/** A canonical resource as the identity store holds it (a StoredResource fits). */
export interface CanonicalResource {
  id: string;
  resourceType: ResourceTypeName;
  /**
   * The stored SCIM JSON (RFC 7643): `schemas`, `userName`, `name{…}`, `emails[…]`, extension objects
   * under their schema URN keys (`urn:…:enterprise:2.0:User: { department, manager: { value } }`),
   * `members` (canonical ids) for groups. With `id` and `meta` added (`canonicalDocument`) it is the
   * input (`$`) of mapping expressions.
   */
  doc: Json;
  /** Store timestamps (ISO 8601), shown to expressions as `meta.created` / `meta.lastModified`. */
  created?: string;
  lastModified?: string;
}

/** A reference the push processor must translate to the target's id before it can be sent. */
export interface UnresolvedReference {
  /** Payload path of the reference, e.g. `urn:…:enterprise:2.0:User:manager.value`. */
  path: string;
  resourceType: ResourceTypeName;
  /** The canonical id that has no account at this target (yet). */
  id: string;
}

/** What the caller knows beyond the resource itself. */
export interface MappingContext {
  /**
   * The referenced resource's id at this target (its link's remote id), or undefined while it has none.
   * Without a resolver, references pass through untranslated (tests and previews only).
   */
  resolveReference?(resourceType: ResourceTypeName, canonicalId: string): Promise<string | undefined>;
  /** The user's groups, for expressions (`$groups`, `groups`); defaults to the document's `groups`. */
  groups?: readonly GroupRef[];
  /** Resolves attribute names and extension URNs on first compile of the target (default: core schemas). */
  registry?: SchemaRegistry;
}

/** What Switchboard wants a target to hold for one resource. */
export interface MappedResource {
  /**
   * The `always` part: `schemas`, `externalId` (the canonical id) and every attribute sent on each push.
   * This is what is diffed, hashed and stored as the link's pushed state; never `members`.
   */
  payload: Json;
  /** Attributes of `applyOn: create` entries, sent only when the account is created or first linked (see `createPayloadOf`). */
  createOnly?: Json;
  /** Groups only: canonical member ids. The push processor translates them to the target's ids. */
  members?: string[];
  /** References left out of the payload because the referenced resource has no id at this target yet. */
  unresolved?: UnresolvedReference[];
}

/** References the mapping translates: path in the payload → type of the referenced resource. */
const REFERENCES: ReadonlyArray<{ urn: string; attr: string; sub: string; resourceType: ResourceTypeName }> = [
  { urn: ENTERPRISE_USER_SCHEMA, attr: 'manager', sub: 'value', resourceType: 'User' },
];

/**
 * Maps a canonical resource to what one target should hold. Pure apart from `ctx.resolveReference`.
 *
 * `passThrough: 'core'` starts from the core and enterprise attributes; `'none'` from nothing. Then each
 * mapping entry of this resource type, in order, sets its `target` path from `source` (read
 * case-insensitively), the constant `value`, or its JSONata `expression`, falling back to `default` when
 * that yields null or nothing. A null or absent result removes the attribute. Entries with
 * `applyOn: create` go to `createOnly`, not to `payload`. Outbound `externalId` is the canonical id:
 * Switchboard is the target's client, and RFC 7643 §3.1 makes `externalId` the client's identifier.
 * References (`manager.value`) are translated with `ctx.resolveReference`.
 * @throws ConfigError when the target's rules do not compile (normally caught at start)
 * @throws MappingError when an expression fails for this resource, or a value does not fit the target
 *   attribute's type (TypeMismatch): a permanent per-resource failure
 */
export async function mapResource(resource: CanonicalResource, target: TargetConfig, ctx: MappingContext = {}): Promise<MappedResource> {
  const { resourceType, doc } = resource;
  const rules = rulesFor(target, ctx.registry);
  const full: Json = { externalId: resource.id };
  if (target.passThrough === 'core') {
    for (const [key, value] of Object.entries(doc)) {
      const lower = key.toLowerCase();
      if (NOT_PASSED_THROUGH.has(lower) || (resourceType === 'Group' && lower === 'members')) continue;
      if (lower.startsWith('urn:')) {
        // Only the enterprise extension passes through; other extensions need an explicit mapping.
        if (resourceType === 'User' && lower === ENTERPRISE_USER_SCHEMA.toLowerCase()) full[ENTERPRISE_USER_SCHEMA] = structuredClone(value);
        continue;
      }
      full[key] = structuredClone(value);
    }
  }
  const entries = rules.mappings.filter(m => m.resourceType === resourceType);
  for (const m of entries) {
    const value = await valueOf(m, resource, ctx);
    if (value === null || value === undefined) m.target.remove(full);
    else m.target.write(full, structuredClone(typed(m, value, target.id)));
  }
  const unresolved = await translateReferences(full, resourceType, ctx);

  const state = structuredClone(full);
  const createOnly: Json = {};
  for (const m of entries) {
    if (m.applyOn !== 'create') continue;
    copyPath(full, createOnly, m.target);
    removeWhole(state, m.target);
  }
  const mapped: MappedResource = { payload: withSchemas(resourceType, (prune(state) as Json | undefined) ?? {}) };
  const extra = prune(createOnly) as Json | undefined;
  if (extra) mapped.createOnly = extra;
  if (unresolved.length) mapped.unresolved = unresolved;
  if (resourceType === 'Group') mapped.members = memberIds(doc);
  return mapped;
}

/**
 * The POST body (or first PATCH after linking): `payload` plus the `applyOn: create` attributes.
 * Pass `payload` when the caller changed it after mapping (e.g. set `active`).
 */
export function createPayloadOf(mapped: MappedResource, payload: Json = mapped.payload): Json {
  const merged = merge(structuredClone(payload), structuredClone(mapped.createOnly ?? {}));
  const coreSchema = Array.isArray(payload.schemas) && typeof payload.schemas[0] === 'string' ? payload.schemas[0] : USER_SCHEMA;
  const { schemas: _ignored, ...attributes } = merged;
  const extensions = Object.keys(attributes).filter(k => k.toLowerCase().startsWith('urn:'));
  return { schemas: [coreSchema, ...extensions], ...attributes };
}

/**
 * The value as the target attribute's SCIM type wants it, when the SchemaRegistry knows the attribute:
 * a wrong type would only come back as an opaque 400 invalidValue, so it is never sent.
 * @throws MappingError TypeMismatch naming target, entry index and attribute (never the value).
 */
function typed(m: CompiledMapping, value: unknown, targetId: string): unknown {
  const shape = expectedShape(m.target);
  if (!shape) return value;
  const checked = checkValueType(value, shape.def, shape.multi);
  if ('value' in checked) return checked.value;
  throw new MappingError(MappingErrorCode.TypeMismatch, `${targetId}.mappings[${m.index}] ${m.config.target}`, `${shape.where} ${checked.problem}`);
}

async function valueOf(m: CompiledMapping, resource: CanonicalResource, ctx: MappingContext): Promise<unknown> {
  let value: unknown;
  if (m.source) value = m.source.read(resource.doc);
  else if (m.expression) value = await m.expression.evaluate(canonicalDocument(resource), { id: resource.id, resourceType: resource.resourceType, groups: ctx.groups });
  else value = m.config.value;
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) value = m.config.default;
  return value;
}

async function translateReferences(payload: Json, type: ResourceTypeName, ctx: MappingContext): Promise<UnresolvedReference[]> {
  const unresolved: UnresolvedReference[] = [];
  if (!ctx.resolveReference) return unresolved;
  for (const ref of REFERENCES) {
    if (type !== 'User') continue;
    const ext = getCI(payload, ref.urn);
    if (!isObject(ext)) continue;
    const attrKey = keyCI(ext, ref.attr);
    const holder = attrKey === undefined ? undefined : ext[attrKey];
    if (!isObject(holder)) continue;
    const subKey = keyCI(holder, ref.sub);
    const id = subKey === undefined ? undefined : holder[subKey];
    if (typeof id !== 'string' || !id) continue;
    const remote = await ctx.resolveReference(ref.resourceType, id);
    if (remote) {
      holder[subKey!] = remote;
      // `$ref` points at Switchboard's own /Users; meaningless to the target (RFC 7643 §4.3 lets it be omitted).
      const refKey = keyCI(holder, '$ref');
      if (refKey !== undefined) delete holder[refKey];
    } else {
      delete ext[attrKey!];
      unresolved.push({ path: `${ref.urn}:${ref.attr}.${ref.sub}`, resourceType: ref.resourceType, id });
    }
  }
  return unresolved;
}

function withSchemas(type: ResourceTypeName, attributes: Json): Json {
  const coreSchema = type === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
  const extensions = Object.keys(attributes).filter(k => k.toLowerCase().startsWith('urn:'));
  return { schemas: [coreSchema, ...extensions], ...attributes };
}

/** Where a create-only entry writes: the whole multi-valued attribute, or `attr` / `attr.sub`. */
function copyPath(from: Json, to: Json, path: TargetPath): void {
  const source = path.urn === undefined ? from : getCI(from, path.urn);
  if (!isObject(source)) return;
  const key = keyCI(source, path.attr);
  if (key === undefined) return;
  const dest = path.urn === undefined ? to : childObject(to, path.urn);
  const value = source[key];
  if (path.sub === undefined || path.filter || Array.isArray(value) || !isObject(value)) {
    dest[key] = structuredClone(value);
    return;
  }
  const sub = keyCI(value, path.sub);
  if (sub !== undefined) childObject(dest, key)[sub] = structuredClone(value[sub]);
}

function removeWhole(payload: Json, path: TargetPath): void {
  const container = path.urn === undefined ? payload : getCI(payload, path.urn);
  if (!isObject(container)) return;
  const key = keyCI(container, path.attr);
  if (key === undefined) return;
  const value = container[key];
  if (path.sub === undefined || path.filter || Array.isArray(value) || !isObject(value)) {
    delete container[key];
    return;
  }
  const sub = keyCI(value, path.sub);
  if (sub !== undefined) delete value[sub];
}

/** Deep merge of objects (case-insensitive keys); arrays and scalars from `extra` win. */
function merge(base: Json, extra: Json): Json {
  for (const [k, v] of Object.entries(extra)) {
    const key = keyCI(base, k) ?? k;
    base[key] = isObject(v) && isObject(base[key]) ? merge(base[key] as Json, v) : v;
  }
  return base;
}

function memberIds(doc: Json): string[] {
  const members = getCI(doc, 'members');
  if (!Array.isArray(members)) return [];
  const ids = members.map(m => (isObject(m) ? m.value : undefined)).filter((v): v is string => typeof v === 'string');
  return [...new Set(ids)];
}

/** Drops nulls, empty objects and empty arrays, so "absent" has one spelling in the payload and its hash. */
function prune(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const items = value.map(prune).filter(v => v !== undefined);
    return items.length ? items : undefined;
  }
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const pruned = prune(v);
      if (pruned !== undefined) out[k] = pruned;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value;
}

function childObject(parent: Json, name: string): Json {
  const key = keyCI(parent, name) ?? name;
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as Json;
}
