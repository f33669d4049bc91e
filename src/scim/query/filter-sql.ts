import type { AttrPath, Filter } from '../filter/filter.ast.js';
import { ScimError } from '../scim.error.js';

/** SQL dialect differences that matter for the compiled filter. */
export type Dialect = 'postgres' | 'sqlite';

/** Lower-cased `resource_attr.path` for an attribute path (extension attributes keep their URN). */
export type PathKey = (path: AttrPath) => string;
/** Normalises a literal exactly as values were normalised at write time (case folding, instants). */
export type LiteralNormaliser = (pathKey: string, value: string | number | boolean) => string;

export interface CompiledFilter { sql: string; params: Record<string, unknown> }

/**
 * Compiles a filter AST (RFC 7644 §3.4.2.2) to a SQL predicate over `resource_attr`, correlated with
 * the resource alias `r`. Values were normalised in JS at write time, so comparisons are byte-wise
 * (`COLLATE "C"` on PostgreSQL) and both databases agree with the in-memory evaluator. Multi-valued
 * attributes match when any element does; valuePath filters match within one element (`element`).
 */
export function compileFilter(filter: Filter, dialect: Dialect, pathKey: PathKey, normalise: LiteralNormaliser): CompiledFilter {
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (v: unknown) => {
    // PostgreSQL text cannot hold U+0000 (the query would fail); nothing stored contains it either.
    if (typeof v === 'string' && v.includes('\u0000')) throw ScimError.invalidFilter('Filter values must not contain U+0000');
    const name = `f${n++}`; params[name] = v; return `:${name}`;
  };
  const collate = dialect === 'postgres' ? ' COLLATE "C"' : '';

  const leaf = (path: AttrPath, op: string, value: unknown, element?: string): string => {
    const key = pathKey(path);
    if (key === 'members.value' && !element) return members(op, value);
    const corr = element ? ` AND a.element = ${element}` : '';
    const scope = `a.resource_id = r.id AND a.path = ${param(key)}${corr}`;
    if (op === 'pr') return `EXISTS (SELECT 1 FROM resource_attr a WHERE ${scope})`;
    if (value === null) {
      // `eq null` matches an absent attribute, `ne null` a present one (RFC 7644 §3.4.2.2 treats null as "no value").
      if (op === 'eq') return `NOT EXISTS (SELECT 1 FROM resource_attr a WHERE ${scope})`;
      if (op === 'ne') return `EXISTS (SELECT 1 FROM resource_attr a WHERE ${scope})`;
      throw ScimError.invalidFilter(`Operator ${op} cannot compare with null`);
    }
    const lit = normalise(key, value as string | number | boolean);
    const p = param(lit);
    let cmp: string;
    switch (op) {
      case 'eq': cmp = `a.value = ${p}`; break;
      case 'ne': return `NOT EXISTS (SELECT 1 FROM resource_attr a WHERE ${scope} AND a.value = ${p})`;
      case 'co': cmp = dialect === 'postgres' ? `strpos(a.value, ${p}) > 0` : `instr(a.value, ${p}) > 0`; break;
      case 'sw': cmp = `substr(a.value, 1, length(${p})) = ${p}`; break;
      case 'ew': cmp = dialect === 'postgres' ? `right(a.value, length(${p})) = ${p}` : `substr(a.value, -length(${p})) = ${p}`; break;
      case 'gt': case 'ge': case 'lt': case 'le': {
        if (typeof value === 'boolean') throw ScimError.invalidFilter(`Operator ${op} is not defined for booleans`);
        const sym = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        cmp = typeof value === 'number'
          ? `CAST(a.value AS ${dialect === 'postgres' ? 'double precision' : 'REAL'}) ${sym} ${p}`
          : `a.value${collate} ${sym} ${p}${collate}`;
        if (typeof value === 'number') params[p.slice(1)] = value;
        break;
      }
      default: throw ScimError.invalidFilter(`Unknown operator ${op}`);
    }
    return `EXISTS (SELECT 1 FROM resource_attr a WHERE ${scope} AND ${cmp})`;
  };

  const members = (op: string, value: unknown): string => {
    if (op === 'pr') return `EXISTS (SELECT 1 FROM group_member gm WHERE gm.group_id = r.id)`;
    if (op === 'eq' && typeof value === 'string') return `EXISTS (SELECT 1 FROM group_member gm WHERE gm.group_id = r.id AND gm.member_id = ${param(value)})`;
    if (op === 'ne' && typeof value === 'string') return `NOT EXISTS (SELECT 1 FROM group_member gm WHERE gm.group_id = r.id AND gm.member_id = ${param(value)})`;
    throw ScimError.invalidFilter('members.value supports eq, ne and pr');
  };

  const walk = (f: Filter, element?: string, parent?: AttrPath): string => {
    switch (f.kind) {
      case 'and': return `(${walk(f.left, element, parent)} AND ${walk(f.right, element, parent)})`;
      case 'or': return `(${walk(f.left, element, parent)} OR ${walk(f.right, element, parent)})`;
      case 'not': return `NOT (${walk(f.filter, element, parent)})`;
      case 'present': return leaf(parent ? { ...parent, sub: f.path.attr } : f.path, 'pr', undefined, element);
      case 'compare': return leaf(parent ? { ...parent, sub: f.path.attr } : f.path, f.op, f.value, element);
      case 'valuePath': {
        if (element) throw ScimError.invalidFilter('Nested valuePath filters are not allowed');
        const prefix = pathKey({ ...f.path, sub: undefined });
        const x = `x${n++}`;
        const inner = walk(f.filter, `${x}.element`, f.path);
        return `EXISTS (SELECT 1 FROM resource_attr ${x} WHERE ${x}.resource_id = r.id AND ${x}.element IS NOT NULL AND substr(${x}.path, 1, ${prefix.length + 1}) = ${param(prefix + '.')} AND ${inner})`;
      }
    }
  };
  return { sql: walk(filter), params };
}
