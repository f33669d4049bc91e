import type { AttrPath, CompareOp, CompValue, Filter } from '../filter/filter.ast.js';
import type { ResolvedPath } from '../schema/schema-registry.js';
import { ScimError } from '../scim.error.js';
import { INVALID_VALUE, type IndexSchema, type IndexTarget } from './index-schema.js';

/** SQL dialect differences that matter for the compiled filter. */
export type Dialect = 'postgres' | 'sqlite';

export interface CompiledFilter { sql: string; params: Record<string, unknown> }

/** Types whose index text is not the value itself (encoded numbers, instants, booleans): they may hold INVALID_VALUE. */
const TYPED = new Set(['boolean', 'integer', 'decimal', 'dateTime']);

/**
 * Compiles a filter AST (RFC 7644 §3.4.2.2) to a SQL predicate over `resource_attr`, correlated with
 * the resource alias `r`. Every path resolves through the SchemaRegistry (via `schema`), values were
 * normalised in JS at write time by the same schema and literals are normalised here alike, so
 * comparisons are byte-wise (`COLLATE "C"` on PostgreSQL) and both databases agree with the in-memory
 * evaluator (`evaluateFilter`), which must have accepted the filter first (it raises the 400s).
 * Multi-valued attributes match when any element does; valuePath filters match within one element.
 */
export function compileFilter(filter: Filter, dialect: Dialect, schema: IndexSchema): CompiledFilter {
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (v: unknown) => {
    // PostgreSQL text cannot hold U+0000 (the query would fail); nothing stored contains it either.
    if (typeof v === 'string' && v.includes('\u0000')) throw ScimError.invalidFilter('Filter values must not contain U+0000');
    const name = `f${n++}`;
    params[name] = v;
    return `:${name}`;
  };
  const collate = dialect === 'postgres' ? ' COLLATE "C"' : '';

  /** Rows of `t`'s presence path holding a present (non-empty) value. */
  const presence = (t: IndexTarget, corr: string): string => {
    const { key, prefix } = t.presence;
    const path = prefix ? `substr(a.path, 1, ${key.length}) = ${param(key)}` : `a.path = ${param(key)}`;
    return `EXISTS (SELECT 1 FROM resource_attr a WHERE a.resource_id = r.id AND ${path} AND a.value <> ''${corr})`;
  };

  /**
   * Group `members` and User `groups` live in group_member, not in resource_attr: `…value` eq / ne
   * and presence are answered there; other operators and sub-attributes are a 400.
   */
  const membership = (op: string, value: CompValue | undefined, t: IndexTarget, self: string, other: string): string => {
    const what = t.resolved.canonicalPath;
    if (t.key !== `${t.container}.value`) {
      throw ScimError.invalidFilter(`"${what}" can only be filtered by its value`);
    }
    const any = `EXISTS (SELECT 1 FROM group_member gm WHERE gm.${self} = r.id)`;
    if (op === 'pr' || (value === null && op === 'ne')) return any;
    if (value === null && op === 'eq') return `NOT ${any}`;
    if ((op === 'eq' || op === 'ne') && value !== undefined && value !== null) {
      // Ids are lower-case, as a folded literal is (the `value` sub-attributes are not caseExact).
      const lit = schema.literal(t.definition, value);
      const exists = `EXISTS (SELECT 1 FROM group_member gm WHERE gm.${self} = r.id AND gm.${other} = ${param(lit ?? '')})`;
      return op === 'eq' ? exists : `NOT ${exists}`;
    }
    throw ScimError.invalidFilter(`"${what}" supports eq, ne and pr`);
  };

  const leaf = (t: IndexTarget, op: CompareOp | 'pr', value: CompValue | undefined, corr: string): string => {
    const type = schema.resourceType.toLowerCase();
    if (type === 'group' && t.container === 'members') {
      if (corr) throw ScimError.invalidFilter('members[...] filters are not supported; use members.value');
      return membership(op, value, t, 'group_id', 'member_id');
    }
    if (type === 'user' && t.container === 'groups') {
      if (corr) throw ScimError.invalidFilter('groups[...] filters are not supported; use groups.value');
      return membership(op, value, t, 'member_id', 'group_id');
    }
    // Served as `<base URL of the request>/…/<id>`: nothing the store can index.
    if (t.key === 'meta.location') throw ScimError.invalidFilter('meta.location cannot be filtered; filter by id');
    if (op === 'pr') return presence(t, corr);
    if (value === null || value === undefined) {
      // `eq null` matches an unassigned attribute, `ne null` an assigned one (RFC 7643 §2.5).
      if (op === 'eq') return `NOT ${presence(t, corr)}`;
      if (op === 'ne') return presence(t, corr);
      throw ScimError.invalidFilter(`Operator ${op} cannot compare with null`);
    }
    const def = t.definition;
    if (t.resolved.wholeSchema || def.type === 'complex') {
      throw ScimError.invalidFilter(`"${t.resolved.canonicalPath}" is complex: name a sub-attribute to compare`);
    }
    const lit = schema.literal(def, value);
    if (lit === undefined) throw ScimError.invalidFilter(`${JSON.stringify(value)} is not a valid ${def.type} value for "${t.resolved.canonicalPath}"`);
    const p = param(lit);
    // Uncorrelated leaves are `r.id IN (…)`, so the (resource_type, path, value) index drives the lookup
    // instead of one probe per resource row; leaves inside a valuePath stay correlated to their element.
    const matching = (cmp: string) => corr
      ? `EXISTS (SELECT 1 FROM resource_attr a WHERE a.resource_id = r.id AND a.path = ${param(t.key)}${corr} AND ${cmp})`
      : `r.id IN (SELECT a.resource_id FROM resource_attr a WHERE a.resource_type = ${param(schema.resourceType)} AND a.path = ${param(t.key)} AND ${cmp})`;
    let cmp: string;
    switch (op) {
      case 'eq': cmp = `a.value = ${p}`; break;
      case 'ne': return `NOT ${matching(`a.value = ${p}`)}`;
      case 'co': cmp = dialect === 'postgres' ? `strpos(a.value, ${p}) > 0` : `instr(a.value, ${p}) > 0`; break;
      case 'sw': cmp = `substr(a.value, 1, length(${p})) = ${p}`; break;
      // substr(x, -0) is all of x on SQLite, so count from the start on both databases.
      case 'ew': cmp = `length(a.value) >= length(${p}) AND substr(a.value, length(a.value) - length(${p}) + 1) = ${p}`; break;
      case 'gt': case 'ge': case 'lt': case 'le': {
        const sym = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        const valid = TYPED.has(def.type) ? ` AND a.value <> '${INVALID_VALUE}'` : '';
        cmp = `a.value${collate} ${sym} ${p}${collate}${valid}`;
        break;
      }
      default: throw ScimError.invalidFilter(`Unknown operator ${String(op)}`);
    }
    if (op === 'co' && lit === '') cmp = '1 = 1';
    return matching(cmp);
  };

  const walk = (f: Filter, parent?: { resolved: ResolvedPath; corr: string }): string => {
    const target = (path: AttrPath) => schema.target(path, parent?.resolved);
    const corr = parent?.corr ?? '';
    switch (f.kind) {
      case 'and': return `(${walk(f.left, parent)} AND ${walk(f.right, parent)})`;
      case 'or': return `(${walk(f.left, parent)} OR ${walk(f.right, parent)})`;
      case 'not': return `NOT (${walk(f.filter, parent)})`;
      case 'present': return leaf(target(f.path), 'pr', undefined, corr);
      case 'compare': return leaf(target(f.path), f.op, f.value, corr);
      case 'valuePath': {
        if (parent) throw ScimError.invalidFilter('Nested valuePath filters are not allowed');
        const t = target(f.path);
        if (!t.container) throw ScimError.invalidFilter(`"${t.resolved.canonicalPath}[...]" needs a complex attribute before "["`);
        const x = `x${n++}`;
        // One element: its marker row (attr-index ELEMENT_MARKER), and the inner filter within the same element.
        const inner = walk(f.filter, { resolved: t.resolved, corr: t.multiValued ? ` AND a.element = ${x}.element` : '' });
        const element = t.multiValued ? ` AND ${x}.element IS NOT NULL` : '';
        return `EXISTS (SELECT 1 FROM resource_attr ${x} WHERE ${x}.resource_id = r.id AND ${x}.path = ${param(t.container)} AND ${x}.value = ''${element} AND ${inner})`;
      }
    }
  };
  return { sql: walk(filter), params };
}

/**
 * The value a resource sorts by (RFC 7644 §3.4.2.3), as a scalar subquery correlated with `r`: the
 * normalised value of `target`; for a multi-valued attribute the one in the primary element, else in
 * the first element. NULL when unassigned ('' and values that do not fit the type count as unassigned).
 * `key` names the bound parameter holding the path.
 */
export function sortExpression(target: IndexTarget, dialect: Dialect, bind: (value: string) => string): string {
  if (target.resolved.wholeSchema || target.definition.type === 'complex') {
    throw ScimError.invalidValue(`sortBy "${target.resolved.canonicalPath}" is complex: name a sub-attribute`);
  }
  const invalid = TYPED.has(target.definition.type) ? ` AND s.value <> '${INVALID_VALUE}'` : '';
  const order = target.multiValued
    ? ` ORDER BY ${target.primaryKey
      ? `CASE WHEN EXISTS (SELECT 1 FROM resource_attr sp WHERE sp.resource_id = r.id AND sp.path = ${bind(target.primaryKey)} AND sp.element = s.element AND sp.value = 'true') THEN 0 ELSE 1 END, `
      : ''}s.element`
    : '';
  const collate = dialect === 'postgres' ? ' COLLATE "C"' : '';
  return `(SELECT s.value FROM resource_attr s WHERE s.resource_id = r.id AND s.path = ${bind(target.key)} AND s.value <> ''${invalid}${order} LIMIT 1)${collate}`;
}
