import { Injectable } from '@nestjs/common';
import { canonicalJson } from '../../identity/canonical-json.util.js';
import { ResourceWrite } from '../../identity/resource.service.js';
import { MemberDelta, StoredResource } from '../../identity/resource.types.js';
import { compileFilter, type ResourcePredicate } from '../filter/filter.evaluator.js';
import { formatPatchPath, type Filter, type PatchPath } from '../filter/filter.ast.js';
import { parsePatchPath } from '../filter/filter.parser.js';
import { assertSafeJson } from '../json-limits.util.js';
import { checkDoc, coerceBoolean, enforceMutability, hashPassword, parseMembers, schemasOf } from '../resource.input.js';
import { ResolvedPath, SchemaRegistry } from '../schema/schema-registry.js';
import type { AttributeDefinition } from '../schema/schema.types.js';
import { PATCH_OP_SCHEMA, ResourceTypeName } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';

/** One PATCH operation after parsing (RFC 7644 §3.5.2); `op` lower-cased (Entra sends `Replace`). */
export interface PatchOperation { op: 'add' | 'replace' | 'remove'; path?: PatchPath; rawPath?: string; value?: unknown }

type Op = PatchOperation['op'];

/** What one operation (or one key of a path-less value) writes, resolved against the schemas. */
interface Target {
  readonly resolved: ResolvedPath;
  /** `emails[type eq "work"]`: the filter, and a predicate over one element. */
  readonly filter?: { readonly ast: Filter; readonly matches: (element: unknown) => boolean };
  /** The sub-attribute after `]` (`emails[…].value`). */
  readonly subAttr?: AttributeDefinition;
  readonly text: string;
}

/** Longest PATCH path accepted (a valuePath filter included). */
const MAX_PATH_LENGTH = 2048;

/**
 * PATCH engine (RFC 7644 §3.5.2), our own: npm patch libraries miss case-insensitive names, URN
 * paths, Entra's dialect and membership as a table. Paths are parsed by the one filter/path parser
 * and resolved by the SchemaRegistry, so core, Enterprise and configured extension attributes are
 * patched alike: with and without path, URN-qualified, sub-attributes, and valuePath filters of the
 * full filter grammar (`emails[type eq "work" and primary eq true].value`, evaluated in memory).
 * Applies every operation to a copy; any error rejects the whole request (all or none). `members`
 * changes become an O(1)-per-member delta.
 *
 * Errors (400): invalidSyntax (body), invalidPath (malformed path, unknown attribute, the core URN),
 * invalidFilter (a valuePath filter the schema rejects), noTarget (remove without path, replace on a
 * filter matching nothing that cannot be created), invalidValue (types, required), mutability
 * (a path naming a readOnly (sub-)attribute; immutable values changed — enforceMutability, which
 * also keeps readOnly values nested in a value as stored).
 */
@Injectable()
export class PatchService {
  constructor(private readonly registry: SchemaRegistry) {}

  /** Validates a PatchOp body; paths are parsed here, resolved per resource type in `apply`. 400 invalidSyntax / invalidPath / noTarget. */
  parse(body: unknown): PatchOperation[] {
    const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown };
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw ScimError.invalidSyntax('PATCH body must be a JSON object');
    if (!Array.isArray(b.schemas) || !b.schemas.some(s => String(s).toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
      throw ScimError.invalidSyntax(`schemas must contain "${PATCH_OP_SCHEMA}"`);
    }
    const ops = b.Operations ?? b.operations;
    if (!Array.isArray(ops) || ops.length === 0) throw ScimError.invalidSyntax('Operations must be a non-empty array');
    return ops.map((o, i) => {
      if (!o || typeof o !== 'object' || Array.isArray(o)) throw ScimError.invalidSyntax(`Operations[${i}] must be an object`);
      const op = String((o as { op?: unknown }).op ?? '').toLowerCase();
      if (op !== 'add' && op !== 'replace' && op !== 'remove') throw ScimError.invalidSyntax(`Operations[${i}].op must be add, replace or remove`);
      const rawPath = (o as { path?: unknown }).path;
      if (rawPath !== undefined && rawPath !== null && typeof rawPath !== 'string') throw ScimError.invalidPath(`Operations[${i}].path must be a string`);
      const value = (o as { value?: unknown }).value;
      // RFC 7644 §3.5.2.2: a remove without a path fails with noTarget, whatever the value.
      if (op === 'remove' && !rawPath) throw ScimError.noTarget(`Operations[${i}]: remove needs a path`);
      if (op !== 'remove' && value === undefined) throw ScimError.invalidSyntax(`Operations[${i}]: ${op} needs a value`);
      assertSafeJson(value, false, `Operations[${i}].value`);
      return { op, rawPath: rawPath || undefined, path: rawPath ? this.parsePath(rawPath) : undefined, value } as PatchOperation;
    });
  }

  /** Applies operations to the current resource; returns the write for ResourceService.update. */
  apply(type: ResourceTypeName, current: StoredResource, ops: PatchOperation[]): ResourceWrite {
    const doc = structuredClone(current.doc);
    const delta: MemberDelta = { add: [], remove: [], replaceAll: false };
    let membersTouched = false;
    const writes: Array<[Op, Target, unknown]> = [];
    for (const op of ops) {
      if (op.path) {
        // `schemas` is the server's to set (RFC 7643 §3): a PATCH on it is ignored.
        if (!isSchemasPath(op.path)) writes.push([op.op, this.target(type, op.path), op.value]);
        continue;
      }
      // No path: the value is an object of attributes (RFC 7644 §3.5.2.1/.3); Entra sends dotted and URN keys.
      if (!isObject(op.value)) throw ScimError.invalidSyntax(`${op.op} without path needs an object value`);
      for (const [k, v] of Object.entries(op.value)) {
        const path = this.parsePath(k);
        if (isSchemasPath(path)) continue;
        if (path.valueFilter) throw ScimError.invalidPath(`"${k}": a key of a path-less value cannot hold a filter`);
        writes.push([op.op, this.target(type, path), v]);
      }
    }
    for (const [op, target, value] of writes) {
      if (type === 'Group' && !target.resolved.inExtension && target.resolved.attribute.name === 'members') {
        membersTouched = true;
        members(op, target, value, delta);
        continue;
      }
      this.applyOne(type, doc, op, target, value);
    }
    enforceMutability(type, current.doc, doc, this.registry, 'patch');
    doc.schemas = schemasOf(type, doc, this.registry);
    checkDoc(type, doc, this.registry);
    return { doc, memberDelta: membersTouched ? delta : undefined };
  }

  /** The one parser (filter.parser.ts); URN prefixes split at the longest registered schema URN. */
  private parsePath(text: string): PatchPath {
    return parsePatchPath(text, {
      maxLength: MAX_PATH_LENGTH,
      allowBareWords: false,
      schemaUrns: this.registry.schemas().map(s => s.id),
    });
  }

  /** Resolves a parsed path for `type`. 400 invalidPath (unknown or malformed), invalidFilter, mutability (readOnly). */
  private target(type: ResourceTypeName, path: PatchPath): Target {
    const text = formatPatchPath(path);
    const resolved = this.registry.resolve(type, formatAttrText(path), 'invalidPath');
    let subAttr: AttributeDefinition | undefined;
    let filter: Target['filter'];
    if (path.valueFilter) {
      if (resolved.wholeSchema || resolved.subAttribute || resolved.attribute.type !== 'complex') {
        throw ScimError.invalidPath(`"${text}": "[" must follow a complex attribute`);
      }
      if (path.subAttr !== undefined) subAttr = this.registry.resolve(type, `${resolved.canonicalPath}.${path.subAttr}`, 'invalidPath').subAttribute;
      const isMembers = type === 'Group' && !resolved.inExtension && resolved.attribute.name === 'members';
      filter = { ast: path.valueFilter, matches: isMembers ? () => false : elementMatcher(this.registry, type, resolved, path.valueFilter) };
    }
    const definition = subAttr ?? resolved.definition;
    if (resolved.attribute.mutability === 'readOnly' || definition.mutability === 'readOnly') {
      throw ScimError.mutability(`${resolved.canonicalPath}${subAttr ? `.${subAttr.name}` : ''} is readOnly`);
    }
    return { resolved, text, ...(subAttr ? { subAttr } : {}), ...(filter ? { filter } : {}) };
  }

  private applyOne(type: ResourceTypeName, doc: Record<string, unknown>, op: Op, target: Target, value: unknown): void {
    const { resolved } = target;
    if (resolved.wholeSchema) return this.applyExtension(type, doc, op, target, value);
    const container = resolved.inExtension ? extensionObject(doc, resolved.schemaUrn, op !== 'remove') : doc;
    if (!container) return;
    const attr = resolved.attribute;
    const key = findKey(container, attr.name) ?? attr.name;
    if (!resolved.inExtension && attr.name === 'password') {
      if (op === 'remove') { delete container[key]; return; }
      if (typeof value !== 'string' || !value) throw ScimError.invalidValue('password must be a non-empty string');
      container[key] = hashPassword(value);
      return;
    }
    const v = !resolved.inExtension && attr.name === 'active' ? coerceBoolean(value) : value;
    if (target.filter) return applyFiltered(container, key, op, target, v);
    const sub = resolved.subAttribute;
    if (sub) {
      const parent = container[key];
      // `emails.value` would turn the list into one object; the element must be named by a filter.
      if (attr.multiValued || Array.isArray(parent)) throw ScimError.invalidPath(`${attr.name} is multi-valued: use ${attr.name}[<filter>].${sub.name}`);
      if (op === 'remove') {
        if (isObject(parent)) delete parent[findKey(parent, sub.name) ?? sub.name];
        return;
      }
      const obj = isObject(parent) ? parent : {};
      obj[findKey(obj, sub.name) ?? sub.name] = v;
      container[key] = obj;
      return;
    }
    if (op === 'remove') { delete container[key]; return; }
    const existing = container[key];
    if (op === 'add' && attr.multiValued && Array.isArray(existing)) {
      // RFC 7644 §3.5.2.1: a value already present is not added again (and changes nothing).
      const seen = new Set(existing.map(canonicalJson));
      const added = (Array.isArray(v) ? v : [v]).filter(x => !seen.has(canonicalJson(x)));
      container[key] = [...existing, ...added];
      clearOtherPrimaries(attr, container[key], added);
    } else if (!attr.multiValued && isObject(existing) && isObject(v)) {
      // add and replace both merge a complex value: unnamed sub-attributes stay (RFC 7644 §3.5.2.1, §3.5.2.3).
      container[key] = { ...existing, ...v };
    } else {
      container[key] = op === 'add' && attr.multiValued && !Array.isArray(v) && v !== null ? [v] : v;
    }
  }

  /** A bare extension URN as path (or a no-path key): its value is an object of that extension's attributes. */
  private applyExtension(type: ResourceTypeName, doc: Record<string, unknown>, op: Op, target: Target, value: unknown): void {
    const urn = target.resolved.schemaUrn;
    if (op === 'remove') { delete doc[findKey(doc, urn) ?? urn]; return; }
    if (!isObject(value)) throw ScimError.invalidValue(`${urn} must be an object of extension attributes`);
    if (op === 'replace' && Object.keys(value).length === 0) return;
    for (const [k, v] of Object.entries(value)) {
      const path = this.parsePath(`${urn}:${k}`);
      if (path.valueFilter) throw ScimError.invalidPath(`"${k}" in ${urn} is not an attribute name`);
      this.applyOne(type, doc, op, this.target(type, path), v);
    }
  }
}

/** Group `members` (a table, not the document): RFC 7643 §8.7.1 makes member sub-attributes immutable. */
function members(op: Op, target: Target, value: unknown, delta: MemberDelta): void {
  if (target.resolved.subAttribute || target.subAttr) {
    const name = (target.resolved.subAttribute ?? target.subAttr)!.name;
    throw ScimError.mutability(`members.${name} is immutable: remove the member and add it again`);
  }
  if (target.filter) {
    // members[value eq "id"] (Okta, Entra); only `value eq` is meaningful for a membership table.
    const f = target.filter.ast;
    const id = f.kind === 'compare' && f.op === 'eq' && !f.path.uri && !f.path.sub && f.path.attr.toLowerCase() === 'value' && typeof f.value === 'string' ? f.value : undefined;
    if (id === undefined) throw ScimError.invalidFilter('members filter must be value eq "<id>"');
    if (id.includes('\u0000')) throw ScimError.invalidPath('A path filter value must not contain U+0000');
    if (op !== 'remove') throw ScimError.invalidPath('members[value eq "<id>"] can only be removed; add members with path "members"');
    delta.remove.push(id);
    return;
  }
  if (op === 'remove') {
    if (value !== undefined && value !== null) {
      // Entra: remove members with a value array.
      delta.remove.push(...parseMembers(value).map(m => m.value));
    } else {
      delta.replaceAll = true;
      delta.add = [];
    }
    return;
  }
  const list = parseMembers(value);
  if (op === 'replace') { delta.replaceAll = true; delta.add = list; delta.remove = []; return; }
  delta.add.push(...list);
  delta.remove = delta.remove.filter(id => !list.some(m => m.value === id));
}

/**
 * `emails[type eq "work"].value`: applies to matching elements (RFC 7644 §3.5.2). add/replace with no
 * match creates one element when the filter is `attr eq value` leaves joined by `and` (they become
 * its sub-attributes); otherwise replace → 400 noTarget, add → nothing to add to.
 */
function applyFiltered(container: Record<string, unknown>, key: string, op: Op, target: Target, value: unknown): void {
  const { resolved, subAttr } = target;
  const attr = resolved.attribute;
  const raw = container[key];
  const list: unknown[] = Array.isArray(raw) ? [...raw] : isObject(raw) ? [raw] : [];
  const hits = list.map((el, i) => (target.filter!.matches(el) ? i : -1)).filter(i => i >= 0);
  const store = (next: unknown[]) => {
    if (next.length === 0) delete container[key];
    else container[key] = attr.multiValued ? next : next[0];
  };
  if (op === 'remove') {
    if (!subAttr) store(list.filter((_, i) => !hits.includes(i)));
    else {
      for (const i of hits) {
        const el = { ...(list[i] as Record<string, unknown>) };
        delete el[findKey(el, subAttr.name) ?? subAttr.name];
        list[i] = el;
      }
      store(list);
    }
    return;
  }
  if (!subAttr && !isObject(value)) throw ScimError.invalidValue(`${target.text} needs an object value`);
  if (!hits.length) {
    const seed = equalities(target.filter!.ast);
    if (!seed) {
      if (op === 'replace') throw ScimError.noTarget(`No value of ${resolved.canonicalPath} matches "${target.text}"`);
      throw ScimError.invalidPath(`"${target.text}": add with a filter needs a filter of the form attr eq value to create an element`);
    }
    const el: Record<string, unknown> = { ...seed };
    if (subAttr) el[subAttr.name] = value; else Object.assign(el, value as object);
    store([...list, el]);
    clearOtherPrimaries(attr, container[key], [el]);
    return;
  }
  const written: unknown[] = [];
  for (const i of hits) {
    const el = list[i] as Record<string, unknown>;
    list[i] = subAttr ? { ...el, [findKey(el, subAttr.name) ?? subAttr.name]: value } : { ...el, ...(value as object) };
    written.push(list[i]);
  }
  store(list);
  clearOtherPrimaries(attr, container[key], written);
}

/** The `attr eq value` leaves of a filter made only of them and `and`; undefined for any other filter. */
function equalities(filter: Filter): Record<string, unknown> | undefined {
  if (filter.kind === 'and') {
    const left = equalities(filter.left);
    const right = equalities(filter.right);
    return left && right ? { ...left, ...right } : undefined;
  }
  if (filter.kind === 'compare' && filter.op === 'eq' && !filter.path.uri && !filter.path.sub && filter.value !== null) {
    return { [filter.path.attr]: filter.value };
  }
  return undefined;
}

/**
 * RFC 7643 §2.4: `primary: true` appears at most once; the value a PATCH just wrote with it wins and
 * the others lose it (RFC 7644 §3.5.2).
 */
function clearOtherPrimaries(attr: AttributeDefinition, list: unknown, written: unknown[]): void {
  if (!attr.multiValued || !Array.isArray(list) || !attr.subAttributes?.some(s => s.name === 'primary' && s.type === 'boolean')) return;
  const winner = written.find(el => isObject(el) && coerceBoolean(el[findKey(el, 'primary') ?? 'primary']) === true);
  if (!winner) return;
  for (let i = 0; i < list.length; i++) {
    const el = list[i];
    if (el === winner || !isObject(el)) continue;
    const k = findKey(el, 'primary');
    if (k !== undefined && coerceBoolean(el[k]) === true) list[i] = { ...el, [k]: false };
  }
}

/** A predicate over one element of `resolved` (a complex attribute), from the in-memory evaluator. */
function elementMatcher(registry: SchemaRegistry, type: string, resolved: ResolvedPath, filter: Filter): (element: unknown) => boolean {
  const attrPath = resolved.inExtension ? { uri: resolved.schemaUrn, attr: resolved.attribute.name } : { attr: resolved.attribute.name };
  const predicate: ResourcePredicate = compileFilter({ kind: 'valuePath', path: attrPath, filter }, registry, type);
  return (element) => {
    if (!isObject(element)) return false;
    const holder = { [resolved.attribute.name]: [element] };
    return predicate(resolved.inExtension ? { [resolved.schemaUrn]: holder } : holder);
  };
}

function isSchemasPath(path: PatchPath): boolean {
  return !path.valueFilter && !path.attrPath.uri && !path.attrPath.sub && path.attrPath.attr.toLowerCase() === 'schemas';
}

/** The attribute path text of a parsed PATCH path (without filter and trailing sub-attribute). */
function formatAttrText(path: PatchPath): string {
  const { uri, attr, sub } = path.attrPath;
  const local = sub === undefined ? attr : `${attr}.${sub}`;
  return uri === undefined ? local : `${uri}:${local}`;
}

/** The object under an extension's URN key (RFC 7643 §3.3), created for writes. */
function extensionObject(doc: Record<string, unknown>, urn: string, create: boolean): Record<string, unknown> | undefined {
  const key = findKey(doc, urn) ?? urn;
  if (!isObject(doc[key]) && create) doc[key] = {};
  return isObject(doc[key]) ? doc[key] as Record<string, unknown> : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The existing key matching `name` case-insensitively. */
function findKey(obj: Record<string, unknown>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find(k => k.toLowerCase() === lower);
}
