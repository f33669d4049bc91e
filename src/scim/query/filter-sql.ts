import type { AttrPath, CompareOp, CompValue, Filter } from '../filter/filter.ast.js';
import type { ResolvedPath } from '../schema/schema-registry.js';
import { ScimError } from '../scim.error.js';
import { indexedPrefix } from '../../identity/attr-index.js';
import { INVALID_VALUE, type IndexSchema, type IndexTarget } from './index-schema.js';

/** SQL dialect differences that matter for the compiled filter. */
export type Dialect = 'postgres' | 'sqlite';

export interface CompiledFilter { sql: string; params: Record<string, unknown> }

/** Types whose index text is not the value itself (encoded numbers, instants, booleans): they may hold INVALID_VALUE. */
const TYPED = new Set(['boolean', 'integer', 'decimal', 'dateTime']);

/** What the compiler needs besides the filter. */
export interface CompileOptions {
  /**
   * The absolute SCIM base URL of the response (`https://host/scim/v2`, as `meta.location` and
   * `members.$ref` / `groups.$ref` are served under). Without it those attributes are a 400.
   */
  readonly baseUrl?: string;
  /**
   * `drive` (default): a top-level `and` of plain comparisons is driven from its most selective clause
   * (`conjunction`); `intersect`: every clause its own `r.id IN (…)` (the former plan, kept for
   * bench/scim-queries.bench.ts to compare).
   */
  readonly conjunctions?: 'drive' | 'intersect';
}

/** The whole stored value of resource_attr alias `x`: `value` holds only the indexed prefix of a long one. */
const fullValue = (x: string) => `COALESCE(${x}.value_full, ${x}.value)`;

/**
 * How a `group_member` row (alias `g`) reads as one element of Group `members` or User `groups`
 * (RFC 7643 §4.2, §4.1.2). `self` is the column holding the resource's own id, `other` the member
 * (or group) id.
 */
interface Membership { readonly self: 'group_id' | 'member_id'; readonly other: 'group_id' | 'member_id'; readonly container: string }

/**
 * Compiles a filter AST (RFC 7644 §3.4.2.2) to a SQL predicate over `resource_attr`, correlated with
 * the resource alias `r`. Every path resolves through the SchemaRegistry (via `schema`), values were
 * normalised in JS at write time by the same schema and literals are normalised here alike, so
 * comparisons are byte-wise (`COLLATE "C"` on PostgreSQL) and both databases agree with the in-memory
 * evaluator (`evaluateFilter`), which must have accepted the filter first (it raises the 400s).
 * Multi-valued attributes match when any element does; valuePath filters match within one element.
 *
 * Group `members` and User `groups` are read from `group_member`, as served: `value` the id, `type`
 * the member's type (User / Group) or `direct` for groups, `display` the member's or group's current
 * displayName (a User without one: its userName), `$ref` the resource URL under `options.baseUrl`.
 * `meta.location` is `<baseUrl>/<endpoint>/<id>` and `meta.resourceType` the constant type, neither
 * read from the index.
 * @throws ScimError 400 invalidFilter: U+0000 in a literal, `$ref` / `meta.location` without a base
 *   URL, nested valuePaths.
 */
export function compileFilter(filter: Filter, dialect: Dialect, schema: IndexSchema, options: CompileOptions = {}): CompiledFilter {
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (v: unknown) => {
    // PostgreSQL text cannot hold U+0000 (the query would fail); nothing stored contains it either.
    if (typeof v === 'string' && v.includes('\u0000')) throw ScimError.invalidFilter('Filter values must not contain U+0000');
    const name = `f${n++}`;
    params[name] = v;
    return `:${name}`;
  };
  /** A bound text value usable in expressions (PostgreSQL cannot infer an untyped parameter's type in `||`). */
  const text = (v: string) => `CAST(${param(v)} AS text)`;
  const collate = dialect === 'postgres' ? ' COLLATE "C"' : '';
  const type = schema.resourceType.toLowerCase();

  /** `expr op lit` for the operators that read the whole value (no index prefix involved). */
  const compare = (expr: string, op: CompareOp, lit: string, def: IndexTarget['definition']): string => {
    const p = param(lit);
    switch (op) {
      case 'eq': return `${expr} = ${p}`;
      case 'ne': return `${expr} <> ${p}`;
      // instr / strpos of '' differ between the databases; every value contains ''.
      case 'co': return lit === '' ? `${expr} IS NOT NULL` : dialect === 'postgres' ? `strpos(${expr}, ${p}) > 0` : `instr(${expr}, ${p}) > 0`;
      case 'sw': return `substr(${expr}, 1, length(${p})) = ${p}`;
      // substr(x, -0) is all of x on SQLite, so count from the start on both databases.
      case 'ew': return `length(${expr}) >= length(${p}) AND substr(${expr}, length(${expr}) - length(${p}) + 1) = ${p}`;
      case 'gt': case 'ge': case 'lt': case 'le': {
        const sym = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        const valid = TYPED.has(def.type) ? ` AND ${expr} <> '${INVALID_VALUE}'` : '';
        return `${expr}${collate} ${sym} ${p}${collate}${valid}`;
      }
      default: throw ScimError.invalidFilter(`Unknown operator ${String(op)}`);
    }
  };

  /** The literal as the index stores it (the evaluator has already rejected values that do not fit). */
  const literal = (t: IndexTarget, value: string | number | boolean): string => {
    const lit = schema.literal(t.definition, value);
    if (lit === undefined) throw ScimError.invalidFilter(`${JSON.stringify(value)} is not a valid ${t.definition.type} value for "${t.resolved.canonicalPath}"`);
    return lit;
  };

  /**
   * One value read by a SQL expression (`expr`, NULL when unassigned), tested as the evaluator tests a
   * singular attribute: `pr` non-empty, `eq null` unassigned, `ne` "no value equals".
   */
  const scalar = (t: IndexTarget, expr: string, op: CompareOp | 'pr', value: CompValue | undefined): string => {
    const present = `(${expr} IS NOT NULL AND ${expr} <> '')`;
    if (op === 'pr' || (value === null && op === 'ne')) return present;
    if (value === null && op === 'eq') return `NOT ${present}`;
    if (value === null || value === undefined) throw ScimError.invalidFilter(`Operator ${op} cannot compare with null`);
    if (t.definition.type === 'complex') throw ScimError.invalidFilter(`"${t.resolved.canonicalPath}" is complex: name a sub-attribute to compare`);
    const lit = literal(t, value);
    if (op === 'ne') return `(${expr} IS NULL OR NOT (${compare(expr, 'eq', lit, t.definition)}))`;
    return `(${expr} IS NOT NULL AND ${compare(expr, op, lit, t.definition)})`;
  };

  /** The served `$ref` / `meta.location` start; a 400 when the request's base URL is unknown here. */
  const baseUrl = (what: string): string => {
    if (options.baseUrl === undefined) {
      // The URL is built from the request (Host or PUBLIC_BASE_URL); nothing stored holds it.
      throw ScimError.invalidFilter(`"${what}" cannot be filtered here: it depends on the request's base URL; filter by id or value`);
    }
    return options.baseUrl.replace(/\/$/, '');
  };

  /** Group `members` / User `groups`, read from group_member (never in resource_attr). */
  const membership = (t: IndexTarget): Membership | undefined => {
    if (t.resolved.inExtension) return undefined;
    if (type === 'group' && t.container === 'members') return { self: 'group_id', other: 'member_id', container: 'members' };
    if (type === 'user' && t.container === 'groups') return { self: 'member_id', other: 'group_id', container: 'groups' };
    return undefined;
  };

  /** A membership sub-attribute of the group_member row `g`, normalised as resource_attr values are. */
  const memberExpr = (m: Membership, t: IndexTarget, g: string): string => {
    const sub = t.resolved.subAttribute?.name ?? 'value';
    switch (sub) {
      // Ids are server-made lower-case uuids: case folding leaves them as they are.
      case 'value': return `${g}.${m.other}`;
      // Stored as 'User' / 'Group' (resource.input parseMembers); ASCII, so lower() is the case folding.
      case 'type': return m.container === 'members' ? `lower(${g}.member_type)` : text(literal(t, 'direct'));
      case 'display': {
        // The current name of the member (displayName, else a User's userName) or of the group.
        const paths = m.container === 'members' ? `d.path IN ('displayname', 'username')` : `d.path = 'displayname'`;
        return `(SELECT ${fullValue('d')} FROM resource_attr d WHERE d.resource_id = ${g}.${m.other} AND ${paths} AND d.value <> '' ORDER BY d.path LIMIT 1)`;
      }
      case '$ref': {
        const base = baseUrl(t.resolved.canonicalPath);
        if (m.container === 'groups') return `(${text(literal(t, `${base}/Groups/`))} || ${g}.group_id)`;
        // Folding the base and the endpoint separately is folding the whole: the endpoints are ASCII.
        return `(${text(literal(t, `${base}/`))} || CASE ${g}.member_type WHEN 'Group' THEN '${literal(t, 'Groups/')}' ELSE '${literal(t, 'Users/')}' END || ${g}.member_id)`;
      }
      default: throw ScimError.invalidFilter(`"${t.resolved.canonicalPath}" cannot be filtered`);
    }
  };

  /** A leaf on one membership element (the group_member row `g`). */
  const memberLeaf = (m: Membership, t: IndexTarget, op: CompareOp | 'pr', value: CompValue | undefined, g: string): string => {
    // `members pr`: an element exists (its value is never empty).
    if (!t.resolved.subAttribute && op === 'pr') return '1 = 1';
    return scalar(t, memberExpr(m, t, g), op, value);
  };

  /** A membership leaf outside `[…]`: any element matches; `ne` and `eq null` are "no element does". */
  const membershipLeaf = (m: Membership, t: IndexTarget, op: CompareOp | 'pr', value: CompValue | undefined): string => {
    const negated = (op === 'ne' && value !== null) || (op === 'eq' && value === null);
    const positive: CompareOp | 'pr' = op === 'ne' && value !== null ? 'eq' : value === null ? 'pr' : op;
    const cond = memberLeaf(m, t, positive, positive === 'pr' ? undefined : value, 'g');
    // By value the (group_id, member_id) key or the member_id index finds the rows: drive from them.
    // Otherwise probe this resource's own rows.
    const sub = t.resolved.subAttribute?.name ?? 'value';
    const any = sub === 'value' && positive !== 'pr'
      ? `r.id IN (SELECT g.${m.self} FROM group_member g WHERE ${cond})`
      : `EXISTS (SELECT 1 FROM group_member g WHERE g.${m.self} = r.id AND ${cond})`;
    return negated ? `NOT ${any}` : any;
  };

  /** `meta.location`: `<baseUrl>/<Users|Groups>/<id>` as served, compared on `r.id` when it can be. */
  const location = (t: IndexTarget, op: CompareOp | 'pr', value: CompValue | undefined): string => {
    const prefix = literal(t, `${baseUrl('meta.location')}/${type === 'user' ? 'Users' : 'Groups'}/`);
    if ((op === 'eq' || op === 'ne') && typeof value === 'string') {
      const lit = literal(t, value);
      const rest = lit.startsWith(prefix) ? lit.slice(prefix.length) : undefined;
      // eq on the primary key; a URL outside this endpoint names no resource.
      const eq = rest !== undefined && rest !== '' && !rest.includes('/') ? `r.id = ${param(rest)}` : '1 = 0';
      return op === 'eq' ? eq : `NOT (${eq})`;
    }
    return scalar(t, `(${text(prefix)} || r.id)`, op, value);
  };

  /** The resource_attr comparison for `eq` / `sw` on alias `a`, seeking the indexed prefix and verifying long values. */
  const prefixed = (op: 'eq' | 'sw', lit: string, a: string): string => {
    const prefix = indexedPrefix(lit);
    const str = { type: 'string' } as IndexTarget['definition'];
    if (op === 'eq') {
      return prefix === lit ? `${a}.value = ${param(lit)} AND ${a}.value_full IS NULL` : `${a}.value = ${param(prefix)} AND ${a}.value_full = ${param(lit)}`;
    }
    // A literal that fits the prefix is decided by the prefix; a longer one fixes the whole prefix.
    if (prefix === lit) return compare(`${a}.value`, 'sw', lit, str);
    return `${a}.value = ${param(prefix)} AND ${compare(`${a}.value_full`, 'sw', lit, str)}`;
  };

  /** The row condition on resource_attr alias `a` for a positive comparison of an indexed value. */
  const rowMatch = (t: IndexTarget, op: Exclude<CompareOp, 'ne'>, lit: string, a: string): string => {
    switch (op) {
      case 'eq': case 'sw': return prefixed(op, lit, a);
      // Rows exist only for assigned values: '' is contained in each of them.
      case 'co': return lit === '' ? '1 = 1' : compare(fullValue(a), op, lit, t.definition);
      default: return compare(fullValue(a), op, lit, t.definition);
    }
  };

  /** A plain resource_attr comparison (no null, not `ne`, no derived attribute), as conjunctions drive. */
  const plain = (f: Filter): { t: IndexTarget; op: Exclude<CompareOp, 'ne'>; lit: string } | undefined => {
    if (f.kind !== 'compare' || f.op === 'ne' || f.value === null) return undefined;
    const t = schema.target(f.path);
    if (membership(t) || t.key === 'meta.location' || t.key === 'meta.resourcetype' || t.resolved.wholeSchema || t.definition.type === 'complex') return undefined;
    return { t, op: f.op, lit: literal(t, f.value) };
  };

  const leaf = (t: IndexTarget, op: CompareOp | 'pr', value: CompValue | undefined, corr: string, element?: { m: Membership; g: string }): string => {
    if (element) return memberLeaf(element.m, t, op, value, element.g);
    const m = membership(t);
    if (m) return membershipLeaf(m, t, op, value);
    if (t.key === 'meta.location') return location(t, op, value);
    // The same for every resource of the type: a constant, no index rows to read.
    if (t.key === 'meta.resourcetype') return scalar(t, text(literal(t, schema.resourceType)), op, value);
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
    const lit = literal(t, value);
    // Uncorrelated leaves are `r.id IN (…)`, so the (resource_type, path, value) index drives the lookup
    // instead of one probe per resource row; leaves inside a valuePath stay correlated to their element.
    const matching = (cmp: string) => corr
      ? `EXISTS (SELECT 1 FROM resource_attr a WHERE a.resource_id = r.id AND a.path = ${param(t.key)}${corr} AND ${cmp})`
      : `r.id IN (SELECT a.resource_id FROM resource_attr a WHERE a.resource_type = ${param(schema.resourceType)} AND a.path = ${param(t.key)} AND ${cmp})`;
    return op === 'ne' ? `NOT ${matching(prefixed('eq', lit, 'a'))}` : matching(rowMatch(t, op, lit, 'a'));
  };

  /** Rows of `t`'s presence path holding a present (non-empty) value. */
  const presence = (t: IndexTarget, corr: string): string => {
    const { key, prefix } = t.presence;
    const path = prefix ? `substr(a.path, 1, ${key.length}) = ${param(key)}` : `a.path = ${param(key)}`;
    return `EXISTS (SELECT 1 FROM resource_attr a WHERE a.resource_id = r.id AND ${path} AND a.value <> ''${corr})`;
  };

  type Scope = { resolved: ResolvedPath; corr: string; element?: { m: Membership; g: string } };
  const walk = (f: Filter, parent?: Scope): string => {
    const target = (path: AttrPath) => schema.target(path, parent?.resolved);
    const corr = parent?.corr ?? '';
    switch (f.kind) {
      case 'and': return parent || options.conjunctions === 'intersect' ? `(${walk(f.left, parent)} AND ${walk(f.right, parent)})` : conjunction(f);
      case 'or': return `(${walk(f.left, parent)} OR ${walk(f.right, parent)})`;
      case 'not': return `NOT (${walk(f.filter, parent)})`;
      case 'present': return leaf(target(f.path), 'pr', undefined, corr, parent?.element);
      case 'compare': return leaf(target(f.path), f.op, f.value, corr, parent?.element);
      case 'valuePath': {
        if (parent) throw ScimError.invalidFilter('Nested valuePath filters are not allowed');
        const t = target(f.path);
        if (!t.container) throw ScimError.invalidFilter(`"${t.resolved.canonicalPath}[...]" needs a complex attribute before "["`);
        const x = `x${n++}`;
        const m = membership(t);
        if (m) {
          // One element is one group_member row.
          return `EXISTS (SELECT 1 FROM group_member ${x} WHERE ${x}.${m.self} = r.id AND ${walk(f.filter, { resolved: t.resolved, corr: '', element: { m, g: x } })})`;
        }
        // One element: its marker row (attr-index ELEMENT_MARKER), and the inner filter within the same element.
        const inner = walk(f.filter, { resolved: t.resolved, corr: t.multiValued ? ` AND a.element = ${x}.element` : '' });
        const element = t.multiValued ? ` AND ${x}.element IS NOT NULL` : '';
        return `EXISTS (SELECT 1 FROM resource_attr ${x} WHERE ${x}.resource_id = r.id AND ${x}.path = ${param(t.container)} AND ${x}.value = ''${element} AND ${inner})`;
      }
    }
  };

  /**
   * A top-level `and` chain. Plain `r.id IN (…) AND r.id IN (…)` makes the database build every
   * clause's full id list (98 % of the users for `active eq true`) and intersect them. Instead the
   * clause likely to match the fewest rows (`selectivityRank`) drives over the (resource_type, path,
   * value) index, and the other plain comparisons are checked per candidate on that resource's own
   * rows (the resource_id index); any other clauses stay as they are.
   */
  const conjunction = (f: Filter): string => {
    const clauses: Filter[] = [];
    const flatten = (x: Filter) => { if (x.kind === 'and') { flatten(x.left); flatten(x.right); } else clauses.push(x); };
    flatten(f);
    const ranked = clauses.map((c) => ({ c, p: plain(c) })).filter((x) => x.p !== undefined)
      .map((x) => ({ c: x.c, p: x.p!, rank: selectivityRank(x.p!.t, x.p!.op) }))
      .sort((a, b) => a.rank - b.rank);
    if (ranked.length < 2) return `(${clauses.map((c) => walk(c)).join(' AND ')})`;
    const [driver, ...checks] = ranked;
    const probe = (x: typeof driver, i: number) =>
      `EXISTS (SELECT 1 FROM resource_attr c${i} WHERE c${i}.resource_id = d.resource_id AND c${i}.path = ${param(x!.p.t.key)} AND ${rowMatch(x!.p.t, x!.p.op, x!.p.lit, `c${i}`)})`;
    const driven = `r.id IN (SELECT d.resource_id FROM resource_attr d WHERE d.resource_type = ${param(schema.resourceType)} AND d.path = ${param(driver!.p.t.key)}`
      + ` AND ${rowMatch(driver!.p.t, driver!.p.op, driver!.p.lit, 'd')} AND ${checks.map(probe).join(' AND ')})`;
    const rest = clauses.filter((c) => !ranked.some((x) => x.c === c)).map((c) => walk(c));
    return `(${[driven, ...rest].join(' AND ')})`;
  };
  return { sql: walk(filter), params };
}

/**
 * How many rows a comparison likely matches, lower is fewer (no statistics: by operator and type).
 * Unique attributes first, then string equality, prefixes and instants, ranges, booleans (two values),
 * and `co` / `ew` last (they read every value of the path).
 */
export function selectivityRank(t: IndexTarget, op: Exclude<CompareOp, 'ne'>): number {
  const type = t.definition.type;
  if (op === 'co' || op === 'ew') return 6;
  if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') return 4;
  if (type === 'boolean') return 5;
  if (op === 'sw') return 2;
  if (t.definition.uniqueness !== 'none' || t.key === 'emails.value') return 0;
  return type === 'string' || type === 'reference' || type === 'binary' ? 1 : 2;
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
  return `(SELECT ${fullValue('s')} FROM resource_attr s WHERE s.resource_id = r.id AND s.path = ${bind(target.key)} AND s.value <> ''${invalid}${order} LIMIT 1)${collate}`;
}
