import { defaultNormaliser } from '../../identity/attr-index.js';
import { normaliseDateTime } from '../filter/normalise.util.js';
import type { AttrPath } from '../filter/filter.ast.js';
import { GROUP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim.constants.js';

/** Multi-valued complex attributes: a filter without sub-attribute compares on `value` (RFC 7644 §3.4.2.2). */
const MULTI_COMPLEX = new Set(['emails', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509certificates', 'members', 'groups']);

const META_DATE_TIMES = new Set(['meta.created', 'meta.lastmodified']);

/** `resource_attr.path` for a filter attribute path: lower-cased; core URNs dropped; extension URNs kept. */
export function attrPathKey(type: ResourceTypeName): (p: AttrPath) => string {
  const core = (type === 'User' ? USER_SCHEMA : GROUP_SCHEMA).toLowerCase();
  return p => {
    const uri = p.uri && p.uri.toLowerCase() !== core ? `${p.uri.toLowerCase()}:` : '';
    const attr = p.attr.toLowerCase();
    const sub = p.sub ? p.sub.toLowerCase() : !uri && MULTI_COMPLEX.has(attr) ? 'value' : undefined;
    return `${uri}${attr}${sub ? `.${sub}` : ''}`;
  };
}

/** Normalises a filter literal exactly as the indexer normalised stored values. */
export function normaliseLiteral(pathKey: string, value: string | number | boolean): string {
  // meta dateTimes are indexed as UTC ISO instants (ResourceService.writeIndex), not as folded text.
  if (META_DATE_TIMES.has(pathKey) && typeof value === 'string') return normaliseDateTime(value) ?? value;
  return defaultNormaliser(pathKey, value) ?? String(value);
}
