/** The prefix of a bulkId reference in operation data and paths (RFC 7644 §3.7.2). */
export const BULK_ID_PREFIX = 'bulkId:';

/** A reference inside a longer string: a path `/Groups/bulkId:g1` or a filter `members[value eq "bulkId:u1"]`. */
const EMBEDDED_REF = /bulkId:([^\s"'/\\[\]()]+)/g;

/** Turns a referenced bulkId into the id its POST created; throws when it cannot. */
export type BulkIdLookup = (bulkId: string) => string;

/**
 * The bulkIds a value refers to: every string that is exactly `bulkId:<id>`, at any depth (a Group
 * `members[].value`, a PATCH value). Text that merely contains `bulkId:` is data, not a reference.
 */
export function bulkRefsInData(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (value.startsWith(BULK_ID_PREFIX) && value.length > BULK_ID_PREFIX.length) into.add(value.slice(BULK_ID_PREFIX.length));
  } else if (Array.isArray(value)) {
    for (const v of value) bulkRefsInData(v, into);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) bulkRefsInData(v, into);
  }
  return into;
}

/** The bulkIds a path refers to (`/Users/bulkId:u1`, a PATCH path filter). */
export function bulkRefsInPath(path: string, into = new Set<string>()): Set<string> {
  for (const m of path.matchAll(EMBEDDED_REF)) into.add(m[1]);
  return into;
}

/** A copy of `value` with each `bulkId:<id>` string replaced by `lookup(id)`. */
export function resolveBulkRefsInData(value: unknown, lookup: BulkIdLookup): unknown {
  if (typeof value === 'string') {
    return value.startsWith(BULK_ID_PREFIX) && value.length > BULK_ID_PREFIX.length ? lookup(value.slice(BULK_ID_PREFIX.length)) : value;
  }
  if (Array.isArray(value)) return value.map(v => resolveBulkRefsInData(v, lookup));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a `__proto__` key stays a key, for prepareWrite to reject.
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: resolveBulkRefsInData(v, lookup), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** `path` with each embedded `bulkId:<id>` replaced by `lookup(id)`. */
export function resolveBulkRefsInPath(path: string, lookup: BulkIdLookup): string {
  return path.replace(EMBEDDED_REF, (_, id: string) => lookup(id));
}
