import { scryptSync, randomBytes } from 'node:crypto';
import { canonicalJson } from '../identity/canonical-json.util.js';
import { ResourceWrite } from '../identity/resource.service.js';
import { assertSafeJson } from './json-limits.util.js';
import { checkAttributeShapes } from './schema/attribute-shape.util.js';
import type { SchemaRegistry } from './schema/schema-registry.js';
import type { AttributeDefinition } from './schema/schema.types.js';
import { ResourceTypeName } from './scim.constants.js';
import { ScimError } from './scim.error.js';

/** Hashes a writeOnly password (scrypt); only the hash is stored (RFC 7643 §4.1.1 `password`). */
export function hashPassword(pw: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(pw, salt, 32).toString('base64')}`;
}

/** `"True"`/`"False"` → booleans, as Entra ID sends them; anything else unchanged. */
export function coerceBoolean(v: unknown): unknown {
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return v;
}

/**
 * Turns a POST/PUT body into a store write: checks `schemas`, attribute shapes, required attributes
 * and member references; stores names in the schema's spelling (extension URNs included); drops
 * readOnly attributes and sub-attributes (RFC 7644 §3.3, §3.5.1: the server's to set; PUT keeps the
 * stored ones, see `enforceMutability`); hashes `password`. Errors: 400 invalidSyntax / invalidValue.
 */
export function prepareWrite(type: ResourceTypeName, body: unknown, registry: SchemaRegistry): ResourceWrite {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw ScimError.invalidSyntax('Request body must be a JSON object');
  // Before the loop below: a `__proto__` key would otherwise set doc's prototype.
  assertSafeJson(body, true);
  const input = body as Record<string, unknown>;
  const coreUrn = registry.resourceType(type).schema;
  const schemas = input.schemas;
  if (!Array.isArray(schemas) || !schemas.some(s => typeof s === 'string' && s.toLowerCase() === coreUrn.toLowerCase())) {
    throw ScimError.invalidSyntax(`schemas must be an array containing "${coreUrn}"`);
  }
  const doc: Record<string, unknown> = {};
  let members: Array<{ value: string; type: string }> | undefined;
  for (const [key, value] of Object.entries(input)) {
    const k = key.toLowerCase();
    if (k === 'schemas') continue;
    if (type === 'Group' && k === 'members') { members = parseMembers(value); continue; }
    if (k === 'password') { if (typeof value === 'string' && value) doc.password = hashPassword(value); continue; }
    if (k === 'active') { doc.active = coerceBoolean(value); continue; }
    doc[canonicalKey(key, registry, type)] = value;
  }
  for (const ext of registry.extensionsFor(type)) {
    const value = doc[ext.schema.id];
    if (isPlainObject(value)) doc[ext.schema.id] = canonicalAttributeNames(value, ext.schema.attributes);
  }
  dropReadOnly(registry, type, doc);
  checkDoc(type, doc, registry);
  doc.schemas = schemasOf(type, doc, registry);
  return { doc: orderDoc(doc), members };
}

/**
 * The `schemas` of a stored document (RFC 7643 §3): the core URN, then each extension of the
 * resource type that holds a value, in the registry's order. Empty extension objects are removed.
 */
export function schemasOf(type: ResourceTypeName, doc: Record<string, unknown>, registry: SchemaRegistry): string[] {
  const out = [registry.resourceType(type).schema];
  for (const { schema } of registry.extensionsFor(type)) {
    const key = findKey(doc, schema.id);
    if (key === undefined) continue;
    const value = doc[key];
    if (isPlainObject(value) && Object.keys(value).length === 0) { delete doc[key]; continue; }
    if (value !== null && value !== undefined) out.push(schema.id);
  }
  return out;
}

/**
 * What every stored document satisfies, after POST/PUT and after PATCH: the name attribute, `active`,
 * `externalId` and extension objects have their types, as do the attributes the schemas define
 * (checkAttributeShapes); required attributes, sub-attributes and extensions are present
 * (RFC 7643 §2.2, §6); names and nesting are safe (assertSafeJson). 400 invalidValue / invalidSyntax.
 */
export function checkDoc(type: ResourceTypeName, doc: Record<string, unknown>, registry: SchemaRegistry): void {
  assertSafeJson(doc, true);
  const nameAttr = type === 'User' ? 'userName' : 'displayName';
  if (typeof doc[nameAttr] !== 'string' || !(doc[nameAttr] as string).trim()) throw ScimError.invalidValue(`${nameAttr} is required and must be a non-empty string`);
  if (doc.active !== undefined && typeof doc.active !== 'boolean') throw ScimError.invalidValue('active must be a boolean');
  if (doc.externalId !== undefined && doc.externalId !== null && typeof doc.externalId !== 'string') throw ScimError.invalidValue('externalId must be a string');
  for (const [k, v] of Object.entries(doc)) {
    // Extension attributes live in an object under the schema URN (RFC 7643 §3.3); PATCH writes into it.
    if (/^urn:/i.test(k) && (!v || typeof v !== 'object' || Array.isArray(v))) throw ScimError.invalidValue(`${k} must be an object of extension attributes`);
  }
  checkAttributeShapes(registry, type, doc);
  const [core] = registry.schemasFor(type);
  checkRequired(core!.attributes, doc, '');
  for (const { schema, required } of registry.extensionsFor(type)) {
    const ext = valueOf(doc, schema.id);
    if (isPlainObject(ext) && Object.keys(ext).length > 0) checkRequired(schema.attributes, ext, `${schema.id}:`);
    else if (required) throw ScimError.invalidValue(`${schema.id} is a required extension of ${type} (RFC 7643 §6): its attributes must be present`);
  }
}

/** Required (sub-)attributes are assigned; readOnly ones are the server's to set, so not asked of the client. */
function checkRequired(defs: readonly AttributeDefinition[], obj: Record<string, unknown>, where: string): void {
  for (const def of defs) {
    if (def.mutability === 'readOnly') continue;
    const value = valueOf(obj, def.name);
    if (def.required && !isAssigned(value)) throw ScimError.invalidValue(`${where}${def.name} is required`);
    if (def.type !== 'complex' || !isAssigned(value)) continue;
    for (const el of Array.isArray(value) ? value : [value]) {
      if (isPlainObject(el)) checkRequired(def.subAttributes ?? [], el, `${where}${def.name}.`);
    }
  }
}

/** RFC 7643 §2.5: null, "", [] and {} are unassigned. */
function isAssigned(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Which write `enforceMutability` is checking: a PUT replaces the whole resource, a PATCH edits it. */
export type WriteKind = 'replace' | 'patch';

/**
 * The mutability rules of RFC 7643 §7 for a PUT or PATCH, comparing the stored document `before`
 * with `after`, the one about to be written (changed in place):
 *
 * - readOnly values in `after` are ignored: the stored ones are kept (RFC 7644 §3.5.1), e.g. the
 *   Enterprise `manager.displayName`; a PATCH path naming one is refused earlier (400 mutability).
 *   Elements of multi-valued attributes keep their readOnly sub-attributes when the element is
 *   otherwise unchanged (elements have no identity to match by otherwise).
 * - writeOnly values a PUT omits are kept (a client can never read them back to resend them).
 * - immutable: a value may be assigned while the attribute has none (POST, or PUT/PATCH when
 *   unassigned); once assigned it may be sent again unchanged but not changed or removed → 400
 *   mutability. Enforced for singular attributes and the sub-attributes of singular complex
 *   attributes (core and extensions), not for sub-attributes of multi-valued attributes. The one
 *   such case in the core schemas is Group `members.value/$ref/type/display` (§8.7.1), while
 *   `members` itself is readWrite: the PATCH engine rejects any path naming a member's
 *   sub-attribute with 400 mutability.
 */
export function enforceMutability(type: ResourceTypeName, before: Record<string, unknown>, after: Record<string, unknown>, registry: SchemaRegistry, kind: WriteKind = 'replace'): void {
  const [core] = registry.schemasFor(type);
  keepServerOwned([...registry.commonAttributes(), ...core!.attributes], before, after, kind);
  for (const { schema } of registry.extensionsFor(type)) {
    const b = valueOf(before, schema.id);
    if (!isPlainObject(b)) continue;
    const key = findKey(after, schema.id) ?? schema.id;
    const a = isPlainObject(after[key]) ? after[key] as Record<string, unknown> : {};
    keepServerOwned(schema.attributes, b, a, kind);
    if (Object.keys(a).length > 0) after[key] = a;
  }
  const [, ...extensions] = registry.schemasFor(type);
  compareImmutable([...registry.commonAttributes(), ...core!.attributes], before, after, '');
  for (const ext of extensions) {
    const b = valueOf(before, ext.id);
    if (isPlainObject(b)) compareImmutable(ext.attributes, b, valueOf(after, ext.id), `${ext.id}:`);
  }
  if (type === 'User' || type === 'Group') after.schemas = schemasOf(type, after, registry);
}

/** readOnly values back as stored (or gone); on replace, omitted writeOnly values kept. */
function keepServerOwned(defs: readonly AttributeDefinition[], before: Record<string, unknown>, after: Record<string, unknown>, kind: WriteKind): void {
  for (const def of defs) {
    const old = valueOf(before, def.name);
    const key = findKey(after, def.name) ?? def.name;
    if (def.mutability === 'readOnly') {
      if (old === undefined) delete after[key]; else after[key] = structuredClone(old);
      continue;
    }
    if (def.mutability === 'writeOnly' && kind === 'replace' && old !== undefined && after[key] === undefined) {
      after[key] = old;
      continue;
    }
    const readOnlySubs = (def.subAttributes ?? []).filter(s => s.mutability === 'readOnly');
    if (def.type !== 'complex' || readOnlySubs.length === 0 || !isAssigned(after[key])) continue;
    if (def.multiValued) {
      if (!Array.isArray(after[key])) continue;
      const olds = Array.isArray(old) ? old.filter(isPlainObject) : [];
      after[key] = (after[key] as unknown[]).map(el => {
        if (!isPlainObject(el)) return el;
        const bare = withoutSubs(el, readOnlySubs);
        const same = olds.find(o => canonicalJson(withoutSubs(o, readOnlySubs)) === canonicalJson(bare));
        return same ? { ...bare, ...pickSubs(same, readOnlySubs) } : bare;
      });
    } else if (isPlainObject(after[key])) {
      after[key] = { ...withoutSubs(after[key] as Record<string, unknown>, readOnlySubs), ...(isPlainObject(old) ? pickSubs(old, readOnlySubs) : {}) };
    }
  }
}

function withoutSubs(obj: Record<string, unknown>, subs: readonly AttributeDefinition[]): Record<string, unknown> {
  const names = new Set(subs.map(s => s.name.toLowerCase()));
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !names.has(k.toLowerCase())));
}

function pickSubs(obj: Record<string, unknown>, subs: readonly AttributeDefinition[]): Record<string, unknown> {
  const names = new Set(subs.map(s => s.name.toLowerCase()));
  return Object.fromEntries(Object.entries(obj).filter(([k]) => names.has(k.toLowerCase())));
}

/** POST/PUT input: readOnly attributes and sub-attributes the schemas define are the server's (RFC 7644 §3.3). */
function dropReadOnly(registry: SchemaRegistry, type: ResourceTypeName, doc: Record<string, unknown>): void {
  const [core] = registry.schemasFor(type);
  // Group `members` lives in its own table (parseMembers); `groups`, `id` and `meta` are readOnly.
  keepServerOwned([...registry.commonAttributes(), ...core!.attributes], {}, doc, 'patch');
  for (const { schema } of registry.extensionsFor(type)) {
    const ext = doc[schema.id];
    if (isPlainObject(ext)) keepServerOwned(schema.attributes, {}, ext, 'patch');
  }
}

function compareImmutable(defs: readonly AttributeDefinition[], before: Record<string, unknown>, after: unknown, where: string): void {
  for (const def of defs) {
    if (def.multiValued) continue;
    const old = valueOf(before, def.name);
    if (old === undefined || old === null) continue;
    const next = isPlainObject(after) ? valueOf(after, def.name) : undefined;
    if (def.mutability === 'immutable' && canonicalJson(old) !== canonicalJson(next)) {
      throw ScimError.mutability(`${where}${def.name} is immutable: it cannot be changed or removed once assigned`);
    }
    if (def.type === 'complex' && isPlainObject(old)) compareImmutable(def.subAttributes ?? [], old, next, `${where}${def.name}.`);
  }
}

function valueOf(obj: Record<string, unknown>, name: string): unknown {
  const key = findKey(obj, name);
  return key === undefined ? undefined : obj[key];
}

/** The key of `obj` naming `name` case-insensitively (RFC 7643 §2.1), exact spelling first. */
function findKey(obj: Record<string, unknown>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find(k => k.toLowerCase() === lower);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Group `members` input → member references. 400 invalidValue on a malformed entry. */
export function parseMembers(value: unknown): Array<{ value: string; type: string }> {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map(m => {
    const v = (m as Record<string, unknown>)?.value;
    if (typeof v !== 'string' || !v) throw ScimError.invalidValue('members: each member needs a string value');
    const t = (m as Record<string, unknown>).type;
    return { value: v, type: typeof t === 'string' && /^group$/i.test(t) ? 'Group' : 'User' };
  });
}

/**
 * Attribute names are case-insensitive (RFC 7643 §2.1): a top-level key in the schema's spelling —
 * a core attribute's name or an extension's URN; anything else unchanged.
 */
export function canonicalKey(key: string, registry: SchemaRegistry, type: ResourceTypeName): string {
  if (/^urn:/i.test(key)) return registry.extensionUrn(type, key) ?? key;
  if (key.includes('.') || key.includes(':')) return key;
  return registry.tryResolve(type, key)?.attribute.name ?? key;
}

/** An extension object with its attribute names in the schema's spelling. */
function canonicalAttributeNames(obj: Record<string, unknown>, defs: readonly AttributeDefinition[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const def = defs.find(d => d.name.toLowerCase() === k.toLowerCase());
    out[def?.name ?? k] = v;
  }
  return out;
}

function orderDoc(doc: Record<string, unknown>): Record<string, unknown> {
  const { schemas, ...rest } = doc;
  return { schemas, ...rest };
}
