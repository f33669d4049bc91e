import { ScimError } from './scim.error.js';

/** Deepest nesting accepted in a resource or PATCH value: real resources nest 4 levels; our recursion must not hit the stack limit. */
export const MAX_JSON_DEPTH = 16;
/** Longest attribute name or extension URN used as a key; keeps `resource_attr.path` within its column. */
export const MAX_ATTRIBUTE_NAME = 128;

/** RFC 7643 §2.1 ATTRNAME (with the `$ref` form). */
const ATTRIBUTE_NAME = /^\$?[A-Za-z][\w-]*$/;
/** An extension schema URN as a key (RFC 7643 §3.3). */
const URN_KEY = /^urn:[A-Za-z0-9][\w.:-]*$/i;
/** A UTF-16 surrogate without its pair: not Unicode, and stored as U+FFFD, so 'a\uD800' and 'a\uDBFF' would collide. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Rejects JSON that our code or the databases cannot hold, before anything recurses over it: nesting
 * deeper than MAX_JSON_DEPTH (400 invalidSyntax); U+0000 in a string, which PostgreSQL text cannot
 * store, or a lone surrogate (400 invalidValue); with `names`, keys that are neither RFC 7643
 * attribute names nor URNs (400 invalidSyntax; this also keeps `__proto__` out of documents).
 */
export function assertSafeJson(value: unknown, names: boolean, where = 'body', depth = 0): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw ScimError.invalidValue(`${where} must not contain U+0000`);
    if (LONE_SURROGATE.test(value)) throw ScimError.invalidValue(`${where} is not valid Unicode (a lone surrogate)`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_JSON_DEPTH) throw ScimError.invalidSyntax(`${where} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const el of value) assertSafeJson(el, names, where, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (names && (k.length > MAX_ATTRIBUTE_NAME || !(ATTRIBUTE_NAME.test(k) || URN_KEY.test(k)))) {
      throw ScimError.invalidSyntax(`"${k.slice(0, 40)}" is not a valid attribute name (RFC 7643 §2.1)`);
    }
    assertSafeJson(v, names, depth === 0 ? k : `${where}.${k}`, depth + 1);
  }
}
