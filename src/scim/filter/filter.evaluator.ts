/**
 * In-memory, schema-aware filter evaluation (RFC 7644 §3.4.2.2): PATCH valuePath targets,
 * mapping scope filters, and anything the SQL compiler cannot reach. It must agree with the SQL
 * side, so both normalise through `normaliseForCompare`.
 *
 * Our own code: no npm evaluator knows caseExact, dateTime instants or URN-qualified paths, and
 * all of them fail `displayName co "JENSEN"` or mixed-offset dates (research/scim-libraries.md §2).
 *
 * Decisions (where RFC 7644 leaves room):
 * - Unknown attributes are a 400 invalidFilter, not "matches nothing": RFC 7644 §3.12 Table 9 names
 *   invalidFilter for "the specified attribute and filter comparison combination is not supported",
 *   a typo then fails loudly instead of returning an empty list (which an IdP would read as "create
 *   the user"), and the SQL compiler can index only known paths. Every path is resolved once, at
 *   compile time, so the error does not depend on the data.
 * - `eq null` matches when the attribute is unassigned (absent, null, "", [] or {}), `ne null` when
 *   it is present: RFC 7643 §2.5 makes null and unassigned the same state. Other operators with
 *   null are invalidFilter.
 * - `ne` is the negation of `eq`: it matches when no value equals (so also when unassigned).
 * - gt/ge/lt/le on boolean, binary or complex, co/sw/ew on boolean, numbers or dateTime, and any
 *   comparison on a complex attribute without a `value` sub-attribute are invalidFilter.
 * - A complex attribute compared without a sub-attribute compares its `value` sub-attribute
 *   (`emails co "@x"`, `manager eq "42"`).
 * - A value the type cannot hold (`active eq "yes"`, a malformed dateTime) is invalidFilter; a
 *   resource value that does not fit its type simply does not match.
 */
import type { ResolvedPath, SchemaRegistry } from '../schema/schema-registry.js';
import type { AttributeDefinition } from '../schema/schema.types.js';
import { ScimError } from '../scim.error.js';
import { formatAttrPath, type AttrPath, type CompValue, type CompareOp, type Filter } from './filter.ast.js';
import { normaliseForCompare, type ComparableValue } from './normalise.util.js';

export { normaliseForCompare, normaliseString } from './normalise.util.js';

/** A compiled filter: call it once per resource. */
export type ResourcePredicate = (resource: Readonly<Record<string, unknown>>) => boolean;

/** Reads the values a path names from a resource (or, inside `[…]`, from one element). */
type Accessor = (context: unknown) => unknown[];
type Predicate = (context: unknown) => boolean;

/** Where paths are resolved: the resource, or one element of a valuePath's attribute. */
type Scope = { readonly kind: 'resource' } | { readonly kind: 'element'; readonly parent: ResolvedPath };

const ORDERING: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<CompareOp> = new Set(['co', 'sw', 'ew']);

/**
 * Resolves every path against the schema and checks operators and values once.
 * @throws ScimError 400 invalidFilter for unknown attributes or unsupported comparisons.
 */
export function compileFilter(filter: Filter, registry: SchemaRegistry, resourceType: string): ResourcePredicate {
  const compiler = new FilterCompiler(registry, resourceType);
  return compiler.compile(filter, { kind: 'resource' });
}

/** Evaluates `filter` against one resource; compile once with `compileFilter` to test many. */
export function evaluateFilter(
  filter: Filter,
  resource: Readonly<Record<string, unknown>>,
  registry: SchemaRegistry,
  resourceType: string,
): boolean {
  return compileFilter(filter, registry, resourceType)(resource);
}

class FilterCompiler {
  constructor(
    private readonly registry: SchemaRegistry,
    private readonly resourceType: string,
  ) {}

  compile(filter: Filter, scope: Scope): Predicate {
    switch (filter.kind) {
      case 'and': {
        const left = this.compile(filter.left, scope);
        const right = this.compile(filter.right, scope);
        return (c) => left(c) && right(c);
      }
      case 'or': {
        const left = this.compile(filter.left, scope);
        const right = this.compile(filter.right, scope);
        return (c) => left(c) || right(c);
      }
      case 'not': {
        const inner = this.compile(filter.filter, scope);
        return (c) => !inner(c);
      }
      case 'present': {
        const { read } = this.resolve(filter.path, scope);
        return (c) => read(c).some(isPresent);
      }
      case 'compare':
        return this.compileCompare(filter.path, filter.op, filter.value, scope);
      case 'valuePath':
        return this.compileValuePath(filter.path, filter.filter, scope);
    }
  }

  private compileValuePath(path: AttrPath, inner: Filter, scope: Scope): Predicate {
    const text = formatAttrPath(path);
    if (scope.kind === 'element') throw ScimError.invalidFilter(`A valuePath cannot be nested ("${text}[...]")`);
    const { resolved, read } = this.resolve(path, scope);
    if (resolved.wholeSchema || resolved.subAttribute || resolved.attribute.type !== 'complex') {
      throw ScimError.invalidFilter(`"${text}[...]" needs a complex attribute before "["`);
    }
    const test = this.compile(inner, { kind: 'element', parent: resolved });
    return (c) => read(c).some((element) => isObject(element) && test(element));
  }

  private compileCompare(path: AttrPath, op: CompareOp, value: CompValue, scope: Scope): Predicate {
    const { resolved, read } = this.resolve(path, scope);
    let definition = resolved.definition;
    let values = read;
    const shown = resolved.canonicalPath;
    if (value === null) {
      if (op === 'eq') return (c) => !values(c).some(isPresent);
      if (op === 'ne') return (c) => values(c).some(isPresent);
      throw ScimError.invalidFilter(`Operator "${op}" cannot compare "${shown}" with null`);
    }
    if (definition.type === 'complex') {
      // RFC 7644 §3.4.2.2: a complex attribute without a sub-attribute filters on its `value`.
      const valueSub = resolved.wholeSchema ? undefined : definition.subAttributes?.find((s) => s.name === 'value');
      if (!valueSub) throw ScimError.invalidFilter(`"${shown}" is complex: name a sub-attribute to compare`);
      definition = valueSub;
      const outer = read;
      values = (c) => outer(c).flatMap((element) => toList(getKey(element, 'value', 'value')));
    }
    checkOperator(op, definition, shown);
    const target = normaliseForCompare(definition, value);
    if (target === undefined) {
      throw ScimError.invalidFilter(`${JSON.stringify(value)} is not a valid ${definition.type} value for "${shown}"`);
    }
    const matches = comparator(op, target);
    return (c) => {
      for (const raw of values(c)) {
        const candidate = normaliseForCompare(definition, raw);
        if (candidate !== undefined && matches(candidate)) return op !== 'ne';
      }
      return op === 'ne';
    };
  }

  /** Resolves a path for its scope and builds the accessor reading its values. */
  private resolve(path: AttrPath, scope: Scope): { resolved: ResolvedPath; read: Accessor } {
    if (scope.kind === 'element') return this.resolveInElement(path, scope.parent);
    const resolved = this.registry.resolve(this.resourceType, formatAttrPath(path), 'invalidFilter');
    const container: Accessor = resolved.inExtension && !resolved.wholeSchema
      ? keyReader(resolved.schemaUrn)
      : (c) => [c];
    const attribute = keyReader(resolved.attribute.name);
    const top: Accessor = (c) => container(c).flatMap(attribute);
    if (!resolved.subAttribute) return { resolved, read: top };
    const sub = keyReader(resolved.subAttribute.name);
    return { resolved, read: (c) => top(c).flatMap(sub) };
  }

  /** Inside `emails[…]` a path is a bare sub-attribute name of `emails`. */
  private resolveInElement(path: AttrPath, parent: ResolvedPath): { resolved: ResolvedPath; read: Accessor } {
    if (path.uri !== undefined || path.sub !== undefined) {
      throw ScimError.invalidFilter(
        `Inside "${parent.canonicalPath}[...]" only sub-attribute names are allowed, found "${formatAttrPath(path)}"`,
      );
    }
    const resolved = this.registry.resolve(this.resourceType, `${parent.canonicalPath}.${path.attr}`, 'invalidFilter');
    return { resolved, read: keyReader(resolved.definition.name) };
  }
}

function checkOperator(op: CompareOp, definition: AttributeDefinition, shown: string): void {
  const type = definition.type;
  const unordered = type === 'boolean' || type === 'binary';
  const noSubstring = type === 'boolean' || type === 'integer' || type === 'decimal' || type === 'dateTime';
  if ((ORDERING.has(op) && unordered) || (SUBSTRING.has(op) && noSubstring)) {
    throw ScimError.invalidFilter(`Operator "${op}" is not supported for ${type} attribute "${shown}"`);
  }
}

/** Values are normalised to the same type as `target`, so `<` orders strings, instants and numbers alike. */
function comparator(op: CompareOp, target: ComparableValue): (value: ComparableValue) => boolean {
  switch (op) {
    case 'eq':
    case 'ne':
      return (v) => v === target;
    case 'co':
      return (v) => typeof v === 'string' && v.includes(target as string);
    case 'sw':
      return (v) => typeof v === 'string' && v.startsWith(target as string);
    case 'ew':
      return (v) => typeof v === 'string' && v.endsWith(target as string);
    case 'gt':
      return (v) => order(v, target) > 0;
    case 'ge':
      return (v) => order(v, target) >= 0;
    case 'lt':
      return (v) => order(v, target) < 0;
    case 'le':
      return (v) => order(v, target) <= 0;
  }
}

/**
 * Strings in Unicode code point order (what the SQL side's byte-wise UTF-8 comparison gives), not
 * JavaScript's UTF-16 code unit order, which puts U+10000… before U+E000…U+FFFF.
 */
function order(a: ComparableValue, b: ComparableValue): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800…U+DFFF) above U+E000…U+FFFF, so code units sort as the code points they encode. */
function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** An accessor for one key, matched case-insensitively (RFC 7643 §2.1: names are case-insensitive). */
function keyReader(name: string): Accessor {
  const lower = name.toLowerCase();
  return (c) => toList(getKey(c, name, lower));
}

function getKey(context: unknown, name: string, lower: string): unknown {
  if (!isObject(context)) return undefined;
  if (Object.prototype.hasOwnProperty.call(context, name)) return context[name];
  for (const key of Object.keys(context)) {
    if (key.toLowerCase() === lower) return context[key];
  }
  return undefined;
}

/** A multi-valued attribute matches if any value does (RFC 7644 §3.4.2.2), so paths read as lists. */
function toList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.filter((v) => v !== undefined && v !== null);
  return [value];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7644 `pr`: present and not null; "", [] and {} (or one holding only those) count as absent. */
function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.some(isPresent);
  if (typeof value === 'object') return Object.values(value).some(isPresent);
  return true;
}
