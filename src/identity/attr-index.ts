import { normaliseString } from '../scim/filter/normalise.util.js';
/**
 * Flattens a SCIM resource into (path, normalised value) rows for `resource_attr`, so filters compile
 * to SQL that SQLite and PostgreSQL answer identically, whatever their collation (DESIGN.md, Store).
 * Paths are lower-cased; extension attributes keep their URN prefix (`urn:…:user:employeenumber`).
 */

/** Longest value kept in the index; longer ones are cut (a filter on them matches by prefix only). */
export const MAX_INDEXED_VALUE = 1000;
/** Longest path kept (the column is varchar(512)); no filter can name a longer one anyway. */
export const MAX_INDEXED_PATH = 512;

/** `element` is the index within a multi-valued attribute, so valuePath filters match within one element. */
export interface AttrRow { path: string; value: string; element: number | null }

/** Decides how one attribute path's values are normalised. */
export interface AttrNormaliser {
  /** Normalised text for `value` at lower-cased `path`, or undefined to skip it. */
  (path: string, value: string | number | boolean): string | undefined;
}


/** Default normaliser: case-folds strings (the evaluator's own folding) except for caseExact paths. */
export const defaultNormaliser: AttrNormaliser = (path, value) => {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  if (path === 'password') return undefined;
  const caseExact = path === 'id' || path === 'externalid' || path.endsWith('.$ref') || path === 'members.value' || path === 'groups.value';
  return normaliseString(value, caseExact);
};

function push(rows: AttrRow[], path: string, raw: unknown, norm: AttrNormaliser, element: number | null): void {
  if (raw === null || raw === undefined || path.length > MAX_INDEXED_PATH) return;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
    const v = norm(path, raw);
    if (v !== undefined) rows.push({ path, value: v.slice(0, MAX_INDEXED_VALUE), element });
    return;
  }
  if (Array.isArray(raw)) {
    raw.forEach((el, i) => push(rows, path, el, norm, element ?? i));
    return;
  }
  if (typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      push(rows, `${path}.${k.toLowerCase()}`, v, norm, element);
    }
  }
}

/**
 * Rows for one resource document (`doc` = the SCIM JSON without `meta`; group members are indexed
 * from `group_member`, not here).
 */
export function indexAttributes(doc: Record<string, unknown>, norm: AttrNormaliser = defaultNormaliser): AttrRow[] {
  const rows: AttrRow[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const k = key.toLowerCase();
    if (k === 'schemas' || k === 'meta' || k === 'members') continue;
    if (k.startsWith('urn:') && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sk, sv] of Object.entries(value as Record<string, unknown>)) push(rows, `${k}:${sk.toLowerCase()}`, sv, norm, null);
      continue;
    }
    push(rows, k, value, norm, null);
  }
  return rows;
}
