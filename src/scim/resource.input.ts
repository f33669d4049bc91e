import { scryptSync, randomBytes } from 'node:crypto';
import { canonicalJson } from '../identity/canonical-json.util.js';
import { ResourceWrite } from '../identity/resource.service.js';
import { assertSafeJson } from './json-limits.util.js';
import { checkAttributeShapes } from './schema/attribute-shape.util.js';
import type { SchemaRegistry } from './schema/schema-registry.js';
import type { AttributeDefinition } from './schema/schema.types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceTypeName, USER_SCHEMA } from './scim.constants.js';
import { ScimError } from './scim.error.js';

/** Attributes a client may not set (RFC 7643 §3.1, §4.1.2): ignored on POST/PUT. */
const READ_ONLY = new Set(['id', 'meta', 'groups']);

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
 * Turns a POST/PUT body into a store write: checks `schemas`, the required name attribute and member
 * references' shape; drops readOnly attributes; hashes `password`. Errors: 400 invalidSyntax /
 * invalidValue (RFC 7644 §3.3, §3.5.1).
 */
export function prepareWrite(type: ResourceTypeName, body: unknown, registry: SchemaRegistry): ResourceWrite {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw ScimError.invalidSyntax('Request body must be a JSON object');
  // Before the loop below: a `__proto__` key would otherwise set doc's prototype.
  assertSafeJson(body, true);
  const input = body as Record<string, unknown>;
  const coreUrn = type === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
  const schemas = input.schemas;
  if (!Array.isArray(schemas) || !schemas.some(s => typeof s === 'string' && s.toLowerCase() === coreUrn.toLowerCase())) {
    throw ScimError.invalidSyntax(`schemas must be an array containing "${coreUrn}"`);
  }
  const doc: Record<string, unknown> = {};
  let members: Array<{ value: string; type: string }> | undefined;
  for (const [key, value] of Object.entries(input)) {
    const k = key.toLowerCase();
    if (READ_ONLY.has(k) && !(type === 'Group' && k === 'members')) continue;
    if (k === 'schemas') continue;
    if (type === 'Group' && k === 'members') { members = parseMembers(value); continue; }
    if (k === 'password') { if (typeof value === 'string' && value) doc.password = hashPassword(value); continue; }
    if (k === 'active') { doc.active = coerceBoolean(value); continue; }
    doc[canonicalKey(key)] = value;
  }
  checkDoc(type, doc, registry);
  const hasEnterprise = Object.keys(doc).some(k => k.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase());
  doc.schemas = type === 'User' && hasEnterprise ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [coreUrn];
  return { doc: orderDoc(doc), members };
}

/**
 * What every stored document satisfies, after POST/PUT and after PATCH: the name attribute, `active`,
 * `externalId` and extension objects have their types, as do the attributes the schemas define
 * (checkAttributeShapes); names and nesting are safe (assertSafeJson). 400 invalidValue / invalidSyntax.
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
}

/**
 * RFC 7643 §7 `immutable`: a value may be assigned while the attribute has none (POST, or PUT/PATCH
 * when unassigned); once assigned, PUT or PATCH may send it again unchanged but not change or remove
 * it → 400 mutability. Enforced here, by comparing the stored document with the one about to be
 * written, for singular attributes and the sub-attributes of singular complex attributes (core and
 * extensions). Not for sub-attributes of multi-valued attributes: their elements have no identity
 * to compare by. The one such case in the core schemas is Group `members.value/$ref/type/display`
 * (§8.7.1), while `members` itself is readWrite: whole members are added, replaced and removed
 * freely, and the PATCH engine rejects any path naming a member's sub-attribute with 400 mutability.
 */
export function checkImmutable(type: ResourceTypeName, before: Record<string, unknown>, after: Record<string, unknown>, registry: SchemaRegistry): void {
  const [core, ...extensions] = registry.schemasFor(type);
  compareImmutable([...registry.commonAttributes(), ...core!.attributes], before, after, '');
  for (const ext of extensions) {
    const b = valueOf(before, ext.id);
    if (isPlainObject(b)) compareImmutable(ext.attributes, b, valueOf(after, ext.id), `${ext.id}:`);
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
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find(k => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
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

const KNOWN = ['userName', 'externalId', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone',
  'name', 'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates', 'active'];
const KNOWN_BY_LOWER = new Map(KNOWN.map(k => [k.toLowerCase(), k]));

/** Attribute names are case-insensitive (RFC 7643 §2.1): store the schema's spelling. */
export function canonicalKey(key: string): string {
  if (key.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase()) return ENTERPRISE_USER_SCHEMA;
  return KNOWN_BY_LOWER.get(key.toLowerCase()) ?? key;
}

function orderDoc(doc: Record<string, unknown>): Record<string, unknown> {
  const { schemas, ...rest } = doc;
  return { schemas, ...rest };
}
