import type { MappingConfig, TargetConfig } from '../config/app-config.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim/scim.constants.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';
import { keyCI, getCI, isObject } from '../common/json.util.js';

import type { Json } from '../common/json.util.js';

/** A canonical resource as the identity store holds it. */
export interface CanonicalResource {
  id: string;
  resourceType: ResourceTypeName;
  /** The stored SCIM JSON: schemas, userName, name{…}, emails[…], the enterprise extension, members (canonical ids). */
  doc: Json;
}

/** What Switchboard wants a target to hold for one resource. */
export interface MappedResource {
  /** The outbound SCIM payload: `schemas`, `externalId` (the canonical id) and the mapped attributes; never `members`. */
  payload: Json;
  /** Groups only: canonical member ids. The push processor translates them to the target's ids. */
  members?: string[];
}

/** Read-only (`id`, `meta`, `groups`) and write-only (`password`) attributes, plus the ones rebuilt here. */
const NOT_PASSED_THROUGH = new Set(['id', 'meta', 'groups', 'password', 'schemas', 'externalid']);
/** Attributes a mapping may not write: Switchboard owns them. */
const RESERVED_TARGETS = new Set(['schemas', 'id', 'meta', 'groups', 'members']);

/**
 * Maps a canonical resource to the payload one target should hold. Pure.
 *
 * `passThrough: 'core'` starts from the core and enterprise attributes; `'none'` from nothing. Then each
 * mapping entry, in order, sets its `target` path from `source` (read case-insensitively from the canonical
 * document), or from the constant `value`, falling back to `default` when the source is null or absent.
 * A null or absent result removes the attribute. Outbound `externalId` is the canonical id: Switchboard is
 * the target's client, and RFC 7643 §3.1 makes `externalId` the client's identifier.
 */
export function mapResource(resource: CanonicalResource, target: TargetConfig): MappedResource {
  const { resourceType, doc } = resource;
  const payload: Json = { externalId: resource.id };
  if (target.passThrough === 'core') {
    for (const [key, value] of Object.entries(doc)) {
      const lower = key.toLowerCase();
      if (NOT_PASSED_THROUGH.has(lower) || (resourceType === 'Group' && lower === 'members')) continue;
      if (lower.startsWith('urn:')) {
        // Only the enterprise extension passes through; other extensions need an explicit mapping.
        if (resourceType === 'User' && lower === ENTERPRISE_USER_SCHEMA.toLowerCase()) payload[ENTERPRISE_USER_SCHEMA] = structuredClone(value);
        continue;
      }
      payload[key] = structuredClone(value);
    }
  }
  for (const mapping of target.mappings) if ((mapping.resourceType ?? 'User') === resourceType) applyMapping(payload, doc, mapping, resourceType);

  const attributes = prune(payload) ?? {};
  const coreSchema = resourceType === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
  const extensions = Object.keys(attributes).filter(k => k.toLowerCase().startsWith('urn:'));
  const mapped: MappedResource = { payload: { schemas: [coreSchema, ...extensions], ...attributes } };
  if (resourceType === 'Group') mapped.members = memberIds(doc);
  return mapped;
}

function applyMapping(payload: Json, doc: Json, mapping: MappingConfig, resourceType: ResourceTypeName): void {
  const targetPath = parsePath(mapping.target, resourceType);
  if (!targetPath.urn && RESERVED_TARGETS.has(targetPath.attr.toLowerCase())) {
    throw new MappingError(MappingErrorCode.ReservedTarget, mapping.target);
  }
  let value: unknown = mapping.source !== undefined ? read(doc, parsePath(mapping.source, resourceType)) : mapping.value;
  if (value === null || value === undefined) value = mapping.default;
  if (value === null || value === undefined) remove(payload, targetPath);
  else write(payload, targetPath, structuredClone(value), mapping.target);
}

function memberIds(doc: Json): string[] {
  const members = getCI(doc, 'members');
  if (!Array.isArray(members)) return [];
  const ids = members.map(m => (isObject(m) ? m.value : undefined)).filter((v): v is string => typeof v === 'string');
  return [...new Set(ids)];
}

/* ---- a minimal attribute path: attr | attr.sub | urn:…:attr[.sub] | attr[sub eq literal][.sub] ---- */

type Literal = string | number | boolean | null;

interface AttrPath {
  /** Extension schema URN; undefined for core attributes. */
  urn?: string;
  attr: string;
  filter?: { attr: string; value: Literal };
  sub?: string;
}

function parsePath(path: string, resourceType: ResourceTypeName): AttrPath {
  const fail = (): never => { throw new MappingError(MappingErrorCode.InvalidPath, path); };
  let rest = path.trim();
  let urn: string | undefined;
  if (rest.toLowerCase().startsWith('urn:')) {
    // The URN ends at the last ':' before any filter (a filter literal may itself contain ':').
    const bracket = rest.indexOf('[');
    const colon = rest.lastIndexOf(':', bracket === -1 ? rest.length : bracket);
    urn = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    const core = resourceType === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
    if (urn.toLowerCase() === core.toLowerCase()) urn = undefined;
  }
  let i = 0;
  const name = (): string => {
    const start = i;
    while (i < rest.length && isNameChar(rest[i], i === start)) i++;
    return i === start ? fail() : rest.slice(start, i);
  };
  const spaces = (): void => { while (rest[i] === ' ') i++; };

  const result: AttrPath = { urn, attr: name() };
  if (rest[i] === '[') {
    i++;
    spaces();
    const filterAttr = name();
    spaces();
    if (rest.slice(i, i + 2).toLowerCase() !== 'eq' || rest[i + 2] !== ' ') fail();
    i += 2;
    spaces();
    const close = rest.lastIndexOf(']');
    if (close < i) fail();
    result.filter = { attr: filterAttr, value: parseLiteral(rest.slice(i, close).trim(), fail) };
    i = close + 1;
  }
  if (rest[i] === '.') {
    i++;
    result.sub = name();
  }
  if (i !== rest.length) fail();
  return result;
}

function isNameChar(c: string, first: boolean): boolean {
  const alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha || c === '$';
  return alpha || (c >= '0' && c <= '9') || c === '_' || c === '-';
}

function parseLiteral(text: string, fail: () => never): Literal {
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'string' ? parsed : fail();
    } catch {
      return fail();
    }
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : fail();
}

/* ---- reading the canonical document (case-insensitive, RFC 7643 §2.1) ---- */

function read(doc: Json, path: AttrPath): unknown {
  const container = path.urn === undefined ? doc : getCI(doc, path.urn);
  if (!isObject(container)) return undefined;
  const value = getCI(container, path.attr);
  if (path.filter) {
    if (!Array.isArray(value)) return undefined;
    const match = value.find(el => matches(el, path.filter!));
    return match === undefined || path.sub === undefined ? match : getCI(match as Json, path.sub);
  }
  if (path.sub === undefined) return value;
  if (Array.isArray(value)) {
    // `emails.value` names the sub-attribute of every value (RFC 7644 §3.10).
    const subs = value.map(el => (isObject(el) ? getCI(el, path.sub!) : undefined)).filter(v => v !== null && v !== undefined);
    return subs.length ? subs : undefined;
  }
  return isObject(value) ? getCI(value, path.sub) : undefined;
}

function matches(element: unknown, filter: NonNullable<AttrPath['filter']>): boolean {
  if (!isObject(element)) return false;
  const actual = getCI(element, filter.attr);
  if (typeof actual === 'string' && typeof filter.value === 'string') return actual.toLowerCase() === filter.value.toLowerCase();
  return (actual ?? null) === filter.value;
}

/* ---- writing the outbound payload ---- */

function write(payload: Json, path: AttrPath, value: unknown, raw: string): void {
  const container = path.urn === undefined ? payload : childObject(payload, path.urn);
  if (path.filter) {
    const key = keyCI(container, path.attr) ?? path.attr;
    const list = Array.isArray(container[key]) ? (container[key] as unknown[]) : [];
    container[key] = list;
    let targets = list.filter((el): el is Json => matches(el, path.filter!));
    if (!targets.length) {
      const created: Json = { [path.filter.attr]: path.filter.value };
      list.push(created);
      targets = [created];
    }
    for (const el of targets) {
      if (path.sub !== undefined) el[keyCI(el, path.sub) ?? path.sub] = value;
      else if (isObject(value)) Object.assign(el, value, { [keyCI(el, path.filter.attr) ?? path.filter.attr]: path.filter.value });
      else throw new MappingError(MappingErrorCode.UnsupportedTarget, raw);
    }
    return;
  }
  if (path.sub === undefined) {
    container[keyCI(container, path.attr) ?? path.attr] = value;
    return;
  }
  const key = keyCI(container, path.attr) ?? path.attr;
  if (Array.isArray(container[key])) throw new MappingError(MappingErrorCode.UnsupportedTarget, raw);
  const complex = childObject(container, key);
  complex[keyCI(complex, path.sub) ?? path.sub] = value;
}

function remove(payload: Json, path: AttrPath): void {
  const container = path.urn === undefined ? payload : getCI(payload, path.urn);
  if (!isObject(container)) return;
  const key = keyCI(container, path.attr);
  if (key === undefined) return;
  if (path.filter) {
    const list = container[key];
    if (!Array.isArray(list)) return;
    const filter = path.filter;
    container[key] = list.filter(el => {
      if (!matches(el, filter)) return true;
      if (path.sub === undefined) return false;
      const sub = keyCI(el as Json, path.sub);
      if (sub !== undefined) delete (el as Json)[sub];
      // Without `value` (RFC 7643 §2.4) or with only the filter attribute left, the element means nothing.
      const left = Object.keys(el as Json).map(k => k.toLowerCase());
      return path.sub.toLowerCase() !== 'value' && left.some(k => k !== filter.attr.toLowerCase());
    });
    return;
  }
  if (path.sub === undefined) {
    delete container[key];
    return;
  }
  const complex = container[key];
  if (!isObject(complex)) return;
  const sub = keyCI(complex, path.sub);
  if (sub !== undefined) delete complex[sub];
}

/** Drops nulls, empty objects and empty arrays, so "absent" has one spelling in the payload and its hash. */
function prune(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const items = value.map(prune).filter(v => v !== undefined);
    return items.length ? items : undefined;
  }
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const pruned = prune(v);
      if (pruned !== undefined) out[k] = pruned;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value;
}

function childObject(parent: Json, name: string): Json {
  const key = keyCI(parent, name) ?? name;
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as Json;
}

