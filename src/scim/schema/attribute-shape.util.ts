import { normaliseDateTime } from '../filter/normalise.util.js';
import { ScimError } from '../scim.error.js';
import type { SchemaRegistry } from './schema-registry.js';
import type { AttributeDefinition } from './schema.types.js';

/**
 * Checks, in place, that the attributes a schema defines have their JSON shape (RFC 7643 §2.3, §2.4):
 * multi-valued ones are arrays, complex values objects, simple values their type (a dateTime an
 * xsd:dateTime); null means unassigned. Attributes no schema defines are left alone. Two IdP habits are accepted and rewritten:
 * `"True"`/`"False"` for booleans (Entra) and a bare id for a single complex attribute with a `value`
 * sub-attribute (Entra's `manager`) becoming `{ value }`. 400 invalidValue naming the attribute.
 */
export function checkAttributeShapes(registry: SchemaRegistry, type: string, doc: Record<string, unknown>): void {
  const [core, ...extensions] = registry.schemasFor(type);
  checkObject([...registry.commonAttributes(), ...core!.attributes], doc, '');
  for (const ext of extensions) {
    const key = Object.keys(doc).find(k => k.toLowerCase() === ext.id.toLowerCase());
    const value = key === undefined ? undefined : doc[key];
    if (isObject(value)) checkObject(ext.attributes, value, `${ext.id}:`);
  }
}

function checkObject(defs: readonly AttributeDefinition[], obj: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(obj)) {
    const def = defs.find(d => d.name.toLowerCase() === k.toLowerCase());
    if (def && v !== null) obj[k] = def.multiValued ? checkList(def, v, `${where}${k}`) : checkOne(def, v, `${where}${k}`);
  }
}

function checkList(def: AttributeDefinition, v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw ScimError.invalidValue(`${where} is multi-valued: it must be an array`);
  return v.map((el, i) => checkOne(def, el, `${where}[${i}]`));
}

function checkOne(def: AttributeDefinition, v: unknown, where: string): unknown {
  switch (def.type) {
    case 'complex': {
      const bareId = !def.multiValued && (typeof v === 'string' || typeof v === 'number') && def.subAttributes?.some(s => s.name === 'value');
      const obj = bareId ? { value: v } : v;
      if (!isObject(obj)) throw ScimError.invalidValue(`${where} must be an object`);
      checkObject(def.subAttributes ?? [], obj, `${where}.`);
      return obj;
    }
    case 'boolean': {
      const b = typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v;
      if (typeof b !== 'boolean') throw ScimError.invalidValue(`${where} must be a boolean`);
      return b;
    }
    case 'integer':
      if (!Number.isInteger(v)) throw ScimError.invalidValue(`${where} must be an integer`);
      return v;
    case 'decimal':
      if (typeof v !== 'number') throw ScimError.invalidValue(`${where} must be a number`);
      return v;
    case 'dateTime':
      // RFC 7643 §2.3.5: an xsd:dateTime; stored as sent, indexed as its UTC instant.
      if (typeof v !== 'string' || normaliseDateTime(v) === undefined) throw ScimError.invalidValue(`${where} must be an xsd:dateTime such as 2024-01-31T09:00:00Z`);
      return v;
    default:
      if (typeof v !== 'string') throw ScimError.invalidValue(`${where} must be a string`);
      return v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
