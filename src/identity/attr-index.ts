/**
 * Flattens a SCIM resource into (path, normalised value) rows for `resource_attr`, so filters compile
 * to SQL that SQLite and PostgreSQL answer identically, whatever their collation (DESIGN.md, Store).
 * Paths are lower-cased; extension attributes keep their URN prefix (`urn:…:user:employeenumber`).
 */

/**
 * Longest `resource_attr.value`, in UTF-8 bytes. A longer value keeps this much of its start there (the
 * btree-indexed prefix) and the whole value in `value_full`, so comparisons stay exact on any length:
 * PostgreSQL refuses btree entries over ~2,700 bytes, and (resource_type, path, value) must fit one.
 */
export const MAX_INDEXED_BYTES = 1024;
/** Longest path kept (the column is varchar(512)); no filter can name a longer one anyway. */
export const MAX_INDEXED_PATH = 512;

/**
 * `element` is the index within a multi-valued attribute, so valuePath filters match within one element.
 * `full` is set only when `value` is the indexed prefix of a longer value (`indexedPrefix`).
 */
export interface AttrRow { path: string; value: string; element: number | null; full?: string }

/**
 * The longest start of `value` (whole code points) that fits MAX_INDEXED_BYTES of UTF-8: the same
 * function cuts stored values and filter literals, so `eq` and long `sw` literals seek the index by
 * prefix and verify on `value_full`.
 */
export function indexedPrefix(value: string): string {
  // Up to 3 UTF-8 bytes per UTF-16 unit (4 per surrogate pair): short strings fit without counting.
  if (value.length * 3 <= MAX_INDEXED_BYTES) return value;
  let bytes = 0;
  let i = 0;
  while (i < value.length) {
    const unit = value.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length;
    const size = pair ? 4 : unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
    if (bytes + size > MAX_INDEXED_BYTES) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return value.slice(0, i);
}

/** A stored row's value and, when it does not fit the index, the whole value. */
function indexed(path: string, value: string, element: number | null): AttrRow {
  const prefix = indexedPrefix(value);
  return prefix.length === value.length ? { path, value, element } : { path, value: prefix, element, full: value };
}

/**
 * Decides how one attribute path's values are normalised. The store's one is schema-driven
 * (src/scim/query/index-schema.ts `IndexSchemas.normaliser`), shared with the SQL filter compiler.
 */
export interface AttrNormaliser {
  /** Normalised text for `value` at lower-cased `path` of a `resourceType` resource, or undefined to skip it. */
  (path: string, value: string | number | boolean, resourceType?: string): string | undefined;
}

/**
 * Every object (a singular complex attribute, or one element of a multi-valued one) also gets a
 * marker row at its own path with value '' (and its `element`), so a valuePath filter can tell an
 * element exists even when all its sub-values are empty, as the in-memory evaluator does.
 */
export const ELEMENT_MARKER = '';


function push(rows: AttrRow[], path: string, raw: unknown, norm: AttrNormaliser, element: number | null): void {
  if (raw === null || raw === undefined || path.length > MAX_INDEXED_PATH) return;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
    const v = norm(path, raw);
    if (v !== undefined) rows.push(indexed(path, v, element));
    return;
  }
  if (Array.isArray(raw)) {
    // An empty element ({}) is unassigned (RFC 7643 §2.5) and is not served: it is no element to match.
    raw.forEach((el, i) => { if (!isEmptyObject(el)) push(rows, path, el, norm, element ?? i); });
    return;
  }
  if (typeof raw === 'object') {
    rows.push({ path, value: ELEMENT_MARKER, element });
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      push(rows, `${path}.${k.toLowerCase()}`, v, norm, element);
    }
  }
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

/**
 * Rows for one resource document (`doc` = the SCIM JSON without `meta`; group members are indexed
 * from `group_member`, not here).
 */
export function indexAttributes(doc: Record<string, unknown>, norm: AttrNormaliser): AttrRow[] {
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

/** What `resourceIndexRows` reads of a stored resource. */
export interface IndexedResource {
  id: string;
  resourceType: string;
  created: string;
  lastModified: string;
  version: number;
  doc: Record<string, unknown>;
}

/**
 * Every `resource_attr` row of one resource: its document plus `id` and the `meta` attributes the
 * store owns (resourceType, created, lastModified, and version as the served ETag `W/"<n>"`).
 * `meta.location` depends on the request's base URL and is not indexed.
 */
export function resourceIndexRows(r: IndexedResource, normaliser: AttrNormaliser): AttrRow[] {
  const norm: AttrNormaliser = (path, value) => normaliser(path, value, r.resourceType);
  const rows = indexAttributes(r.doc, norm);
  const etag = `W/"${r.version}"`;
  rows.push(
    { path: 'id', value: norm('id', r.id) ?? r.id, element: null },
    { path: 'meta', value: ELEMENT_MARKER, element: null },
    { path: 'meta.resourcetype', value: norm('meta.resourcetype', r.resourceType) ?? r.resourceType, element: null },
    { path: 'meta.created', value: norm('meta.created', r.created) ?? r.created, element: null },
    { path: 'meta.lastmodified', value: norm('meta.lastmodified', r.lastModified) ?? r.lastModified, element: null },
    { path: 'meta.version', value: norm('meta.version', etag) ?? etag, element: null },
  );
  return rows;
}
