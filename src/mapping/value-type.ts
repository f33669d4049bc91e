import { isObject } from '../common/json.util.js';
import type { AttributeDefinition } from '../scim/schema/schema.types.js';
import type { TargetPath } from './attribute-path.js';

/** xsd:dateTime (RFC 7643 §2.3.5): `2024-02-29T23:30:00Z`; the zone is optional in XML Schema. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * The attribute definition and multiplicity a mapped value is written as, or undefined when the
 * SchemaRegistry does not know the target attribute (a target-only extension: its `/Schemas` decides).
 * `emails[type eq "work"].value` writes one `value` of one element; `emails` the whole list.
 */
export function expectedShape(path: TargetPath): { def: AttributeDefinition; multi: boolean; where: string } | undefined {
  const attr = path.attribute;
  if (!attr) return undefined;
  if (path.sub !== undefined) {
    const sub = attr.subAttributes?.find(s => s.name.toLowerCase() === path.sub!.toLowerCase());
    return sub ? { def: sub, multi: sub.multiValued, where: `${attr.name}.${sub.name}` } : undefined;
  }
  // A valuePath without a sub-attribute writes one element (an object) of the multi-valued attribute.
  if (path.filter) return { def: attr, multi: false, where: attr.name };
  return { def: attr, multi: attr.multiValued, where: attr.name };
}

/**
 * Checks `value` against an RFC 7643 §2.3 attribute type: string/binary/reference → JSON string,
 * dateTime → xsd:dateTime string, boolean, integer, decimal → number, complex → object whose known
 * sub-attributes have their types. A multi-valued attribute takes a list; a single value is wrapped
 * (a one-element JSONata sequence is a single value). Nothing else is coerced: `$string()`,
 * `$number()` and `$boolean()` say it explicitly.
 * @returns the value to send (possibly wrapped), or `{ problem }` describing the mismatch.
 */
export function checkValueType(value: unknown, def: AttributeDefinition, multi: boolean): { value: unknown } | { problem: string } {
  if (multi) {
    const list = Array.isArray(value) ? value : [value];
    for (const [i, item] of list.entries()) {
      const problem = singleProblem(item, def);
      if (problem) return { problem: `element ${i}: ${problem}` };
    }
    return { value: list };
  }
  if (Array.isArray(value)) return { problem: `is a list of ${value.length}, but the attribute is single-valued ${def.type}` };
  const problem = singleProblem(value, def);
  return problem ? { problem } : { value };
}

function singleProblem(value: unknown, def: AttributeDefinition): string | undefined {
  const got = describe(value);
  const want = (what: string) => `is ${got}, but the attribute is ${what}`;
  switch (def.type) {
    case 'string':
    case 'binary':
    case 'reference':
      return typeof value === 'string' ? undefined : want(`${def.type} (use $string() to convert)`);
    case 'dateTime':
      return typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined : want('dateTime (xsd:dateTime such as 2024-02-29T23:30:00Z)');
    case 'boolean':
      return typeof value === 'boolean' ? undefined : want('boolean');
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : want('integer');
    case 'decimal':
      return typeof value === 'number' ? undefined : want('decimal');
    case 'complex': {
      if (!isObject(value)) return want('complex (an object)');
      for (const [key, sub] of Object.entries(value)) {
        const subDef = def.subAttributes?.find(s => s.name.toLowerCase() === key.toLowerCase());
        if (!subDef || sub === null) continue;
        const checked = checkValueType(sub, subDef, subDef.multiValued);
        if ('problem' in checked) return `sub-attribute ${subDef.name} ${checked.problem}`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'an object';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `a ${typeof value}`;
}
