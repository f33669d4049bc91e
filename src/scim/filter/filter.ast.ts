/**
 * The filter AST (RFC 7644 §3.4.2.2) shared by the parser, the in-memory evaluator and the SQL
 * compiler. Paths stay syntactic here (`uri`, `attr`, `sub` as written); the SchemaRegistry
 * decides what they name.
 */

/** RFC 7644 §3.4.2.2 attribute operators, lower-cased. */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

export const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

/** A decoded JSON value: strings are unescaped, numbers are numbers. */
export type CompValue = string | number | boolean | null;

/**
 * `[uri ":"] attr ["." sub]` as written. The URN prefix ends at the last ':', so a bare extension
 * URN such as `urn:…:enterprise:2.0:User` parses as `{ uri: 'urn:…:enterprise:2.0', attr: 'User' }`;
 * `formatAttrPath` gives back the exact text for the registry to resolve.
 */
export interface AttrPath {
  readonly uri?: string;
  readonly attr: string;
  readonly sub?: string;
}

export interface CompareFilter {
  readonly kind: 'compare';
  readonly path: AttrPath;
  readonly op: CompareOp;
  readonly value: CompValue;
}

export interface PresentFilter {
  readonly kind: 'present';
  readonly path: AttrPath;
}

export interface LogicalFilter {
  readonly kind: 'and' | 'or';
  readonly left: Filter;
  readonly right: Filter;
}

export interface NotFilter {
  readonly kind: 'not';
  readonly filter: Filter;
}

/** `emails[type eq "work"]`: `filter` is over the sub-attributes of ONE element of `path`. */
export interface ValuePathFilter {
  readonly kind: 'valuePath';
  readonly path: AttrPath;
  readonly filter: Filter;
}

export type Filter = CompareFilter | PresentFilter | LogicalFilter | NotFilter | ValuePathFilter;

/** A PATCH path (RFC 7644 §3.5.2): `attrPath`, or `valuePath [subAttr]`. */
export interface PatchPath {
  readonly attrPath: AttrPath;
  readonly valueFilter?: Filter;
  readonly subAttr?: string;
}

export function formatAttrPath(path: AttrPath): string {
  const local = path.sub === undefined ? path.attr : `${path.attr}.${path.sub}`;
  return path.uri === undefined ? local : `${path.uri}:${local}`;
}

/** Renders a filter in RFC 7644 syntax, fully parenthesised where precedence needs it. */
export function formatFilter(filter: Filter): string {
  switch (filter.kind) {
    case 'compare':
      return `${formatAttrPath(filter.path)} ${filter.op} ${JSON.stringify(filter.value)}`;
    case 'present':
      return `${formatAttrPath(filter.path)} pr`;
    case 'not':
      return `not (${formatFilter(filter.filter)})`;
    case 'valuePath':
      return `${formatAttrPath(filter.path)}[${formatFilter(filter.filter)}]`;
    case 'and':
    case 'or':
      return `${formatOperand(filter.left, filter.kind)} ${filter.kind} ${formatOperand(filter.right, filter.kind)}`;
  }
}

/** An `or` inside an `and` needs parentheses; everything else binds tighter than its parent. */
function formatOperand(operand: Filter, parent: 'and' | 'or'): string {
  const text = formatFilter(operand);
  return parent === 'and' && operand.kind === 'or' ? `(${text})` : text;
}

export function formatPatchPath(path: PatchPath): string {
  const base = formatAttrPath(path.attrPath);
  const filtered = path.valueFilter ? `${base}[${formatFilter(path.valueFilter)}]` : base;
  return path.subAttr === undefined ? filtered : `${filtered}.${path.subAttr}`;
}
