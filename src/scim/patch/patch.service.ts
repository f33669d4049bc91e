import { Injectable } from '@nestjs/common';
import { canonicalJson } from '../../identity/canonical-json.util.js';
import { ResourceWrite } from '../../identity/resource.service.js';
import { StoredResource } from '../../identity/resource.types.js';
import { assertSafeJson } from '../json-limits.util.js';
import { canonicalKey, checkDoc, checkImmutable, coerceBoolean, hashPassword, parseMembers } from '../resource.input.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';
import { parsePath, PatchPath } from './patch-path.js';

/** One PATCH operation after parsing (RFC 7644 §3.5.2); `op` lower-cased (Entra sends `Replace`). */
export interface PatchOperation { op: 'add' | 'replace' | 'remove'; path?: PatchPath; rawPath?: string; value?: unknown }

const READ_ONLY = new Set(['id', 'meta', 'groups']);

/**
 * PATCH engine (RFC 7644 §3.5.2), our own: npm patch libraries miss case-insensitive names, URN
 * paths, Entra's dialect and membership as a table. Applies every operation to a copy; any error
 * rejects the whole request (all or none). `members` changes become an O(1)-per-member delta.
 * Mutability (RFC 7643 §7): a path naming a readOnly attribute or sub-attribute → 400 mutability;
 * immutable values may be assigned when unassigned, not changed (checkImmutable, which documents the
 * scope: singular attributes and singular complex sub-attributes; Group member sub-attributes → 400).
 */
@Injectable()
export class PatchService {
  constructor(private readonly registry: SchemaRegistry) {}

  /** Validates a PatchOp body. 400 invalidSyntax / invalidPath. */
  parse(body: unknown): PatchOperation[] {
    const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown };
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw ScimError.invalidSyntax('PATCH body must be a JSON object');
    if (!Array.isArray(b.schemas) || !b.schemas.some(s => String(s).toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
      throw ScimError.invalidSyntax(`schemas must contain "${PATCH_OP_SCHEMA}"`);
    }
    const ops = b.Operations ?? b.operations;
    if (!Array.isArray(ops) || ops.length === 0) throw ScimError.invalidSyntax('Operations must be a non-empty array');
    return ops.map((o, i) => {
      const op = String((o as { op?: unknown })?.op ?? '').toLowerCase();
      if (op !== 'add' && op !== 'replace' && op !== 'remove') throw ScimError.invalidSyntax(`Operations[${i}].op must be add, replace or remove`);
      const rawPath = (o as { path?: unknown }).path;
      if (rawPath !== undefined && typeof rawPath !== 'string') throw ScimError.invalidPath(`Operations[${i}].path must be a string`);
      const value = (o as { value?: unknown }).value;
      // RFC 7644 §3.5.2.2: a remove without a path fails with noTarget, whatever the value.
      if (op === 'remove' && !rawPath) throw ScimError.noTarget(`Operations[${i}]: remove needs a path`);
      if (op !== 'remove' && value === undefined) throw ScimError.invalidSyntax(`Operations[${i}]: ${op} needs a value`);
      assertSafeJson(value, false, `Operations[${i}].value`);
      return { op, rawPath, path: rawPath ? parsePath(rawPath) : undefined, value } as PatchOperation;
    });
  }

  /** Applies operations to the current resource; returns the write for ResourceService.update. */
  apply(type: ResourceTypeName, current: StoredResource, ops: PatchOperation[]): ResourceWrite {
    const doc = structuredClone(current.doc);
    const delta = { add: [] as Array<{ value: string; type: string }>, remove: [] as string[], replaceAll: false };
    let membersTouched = false;
    const targets: Array<[PatchOperation['op'], PatchPath, unknown]> = [];
    for (const op of ops) {
      if (op.path) { targets.push([op.op, op.path, op.value]); continue; }
      // No path: the value is an object of attributes (RFC 7644 §3.5.2.1/.3); Entra sends dotted and URN keys.
      if (!isObject(op.value)) throw ScimError.invalidSyntax(`${op.op} without path needs an object value`);
      for (const [k, v] of Object.entries(op.value)) targets.push([op.op, parsePath(k), v]);
    }
    for (const [op, raw, value] of targets) {
      const path = corePath(type, raw);
      if (type === 'Group' && path.attr.toLowerCase() === 'members' && !path.uri) { membersTouched = true; this.members(op, path, value, delta); continue; }
      this.applyOne(type, doc, op, path, value);
    }
    this.fixSchemas(type, doc);
    checkDoc(type, doc, this.registry);
    checkImmutable(type, current.doc, doc, this.registry);
    return { doc, memberDelta: membersTouched ? delta : undefined };
  }

  private members(op: string, path: PatchPath, value: unknown, delta: { add: Array<{ value: string; type: string }>; remove: string[]; replaceAll: boolean }): void {
    // RFC 7643 §8.7.1: a member's value/$ref/type/display are immutable; remove the member and add another.
    if (path.sub) {
      if (this.registry.tryResolve('Group', `members.${path.sub}`)) throw ScimError.mutability(`members.${path.sub} is immutable: remove the member and add it again`);
      throw ScimError.invalidPath('members sub-attributes cannot be patched');
    }
    if (op === 'remove') {
      if (path.filter) {
        // members[value eq "id"] (Okta, Entra); only `value eq` is meaningful for a membership table.
        if (path.filter.attr.toLowerCase() !== 'value' || path.filter.op !== 'eq') throw ScimError.invalidFilter('members filter must be value eq "<id>"');
        delta.remove.push(String(path.filter.value));
      } else if (value !== undefined) {
        // Entra: remove members with a value array.
        delta.remove.push(...parseMembers(value).map(m => m.value));
      } else {
        delta.replaceAll = true;
        delta.add = [];
      }
      return;
    }
    const members = parseMembers(value);
    if (op === 'replace') { delta.replaceAll = true; delta.add = members; delta.remove = []; return; }
    delta.add.push(...members);
    delta.remove = delta.remove.filter(id => !members.some(m => m.value === id));
  }

  private applyOne(type: ResourceTypeName, doc: Record<string, unknown>, op: string, path: PatchPath, value: unknown): void {
    const attrLower = path.attr.toLowerCase();
    if (!path.uri && READ_ONLY.has(attrLower)) throw ScimError.mutability(`${path.attr} is readOnly`);
    // readOnly (sub-)attributes the schemas define, e.g. the enterprise `manager.displayName` (RFC 7643 §4.3).
    const resolved = this.registry.tryResolve(type, `${path.uri ? `${path.uri}:` : ''}${path.attr}${path.sub ? `.${path.sub}` : ''}`);
    if (resolved && (resolved.attribute.mutability === 'readOnly' || resolved.subAttribute?.mutability === 'readOnly')) {
      throw ScimError.mutability(`${resolved.canonicalPath} is readOnly`);
    }
    const container = this.container(doc, path, op !== 'remove');
    if (!container) return;
    const key = findKey(container, path.uri ? path.attr : canonicalKey(path.attr));
    if (attrLower === 'password' && !path.uri) {
      if (op !== 'remove' && (typeof value !== 'string' || !value)) throw ScimError.invalidValue('password must be a non-empty string');
      if (op === 'remove') delete doc.password; else doc.password = hashPassword(value as string);
      return;
    }
    const v = attrLower === 'active' || path.sub?.toLowerCase() === 'primary' ? coerceBoolean(value) : value;
    if (path.filter) return this.applyFiltered(container, key, op, path, v);
    if (path.sub) {
      const parent = container[key];
      // `emails.value` would turn the list into one object; the element must be named by a filter.
      if (Array.isArray(parent)) throw ScimError.invalidPath(`${path.attr} is multi-valued: use ${path.attr}[<filter>].${path.sub}`);
      if (op === 'remove') {
        if (parent && typeof parent === 'object' && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[findKey(parent as Record<string, unknown>, path.sub)];
        return;
      }
      const obj = (parent && typeof parent === 'object' && !Array.isArray(parent) ? parent : {}) as Record<string, unknown>;
      obj[findKey(obj, path.sub)] = v;
      container[key] = obj;
      return;
    }
    if (op === 'remove') { delete container[key]; return; }
    const existing = container[key];
    if (op === 'add' && Array.isArray(existing)) {
      // RFC 7644 §3.5.2.1: a value already present is not added again (and changes nothing).
      const seen = new Set(existing.map(canonicalJson));
      container[key] = [...existing, ...(Array.isArray(v) ? v : [v]).filter(x => !seen.has(canonicalJson(x)))];
    } else if (isObject(existing) && isObject(v)) {
      // add and replace both merge a complex value: unnamed sub-attributes stay (RFC 7644 §3.5.2.1, §3.5.2.3).
      container[key] = { ...existing, ...v };
    } else {
      container[key] = v;
    }
    if (attrLower === 'active' && typeof container[key] !== 'boolean') throw ScimError.invalidValue('active must be a boolean');
  }

  /** `emails[type eq "work"].value`: applies to matching elements; add/replace creates one when none matches. */
  private applyFiltered(container: Record<string, unknown>, key: string, op: string, path: PatchPath, value: unknown): void {
    const f = path.filter!;
    const list = Array.isArray(container[key]) ? [...(container[key] as Array<Record<string, unknown>>)] : [];
    const matches = (el: Record<string, unknown>) => {
      const actual = el?.[findKey(el, f.attr)];
      return typeof actual === 'string' && typeof f.value === 'string' ? actual.toLowerCase() === f.value.toLowerCase() : actual === f.value;
    };
    const hits = list.map((el, i) => (matches(el) ? i : -1)).filter(i => i >= 0);
    if (op === 'remove') {
      if (!path.sub) container[key] = list.filter((_, i) => !hits.includes(i));
      else for (const i of hits) { const el = { ...list[i] }; delete el[findKey(el, path.sub)]; list[i] = el; container[key] = list; }
      if (Array.isArray(container[key]) && (container[key] as unknown[]).length === 0) delete container[key];
      return;
    }
    if (!path.sub && !isObject(value)) throw ScimError.invalidValue(`${path.attr}[...] needs an object value`);
    if (!hits.length) {
      const el: Record<string, unknown> = { [f.attr]: f.value };
      if (path.sub) el[path.sub] = value; else Object.assign(el, value as object);
      container[key] = [...list, el];
      return;
    }
    for (const i of hits) {
      list[i] = path.sub ? { ...list[i], [findKey(list[i], path.sub)]: value } : { ...list[i], ...(value as object) };
    }
    container[key] = list;
  }

  /** The object an (extension) path writes into; core paths reach here without a URN (corePath). */
  private container(doc: Record<string, unknown>, path: PatchPath, create: boolean): Record<string, unknown> | undefined {
    if (!path.uri) return doc;
    const k = findKey(doc, path.uri.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase() ? ENTERPRISE_USER_SCHEMA : path.uri);
    if (!isObject(doc[k]) && create) doc[k] = {};
    return isObject(doc[k]) ? doc[k] : undefined;
  }

  private fixSchemas(type: ResourceTypeName, doc: Record<string, unknown>): void {
    // schemas is the server's to set (RFC 7643 §3): a PATCH on it is ignored.
    if (type === 'Group') { doc.schemas = [GROUP_SCHEMA]; return; }
    const ext = doc[ENTERPRISE_USER_SCHEMA] as Record<string, unknown> | undefined;
    if (ext && Object.keys(ext).length === 0) delete doc[ENTERPRISE_USER_SCHEMA];
    doc.schemas = doc[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA];
  }
}

/**
 * Drops the resource's own core URN (`urn:…:core:2.0:User:id` is `id`), so readOnly, password and
 * members rules see the plain name. 400 invalidPath for the bare core URN or the other type's core URN.
 */
function corePath(type: ResourceTypeName, path: PatchPath): PatchPath {
  const [own, other] = type === 'User' ? [USER_SCHEMA, GROUP_SCHEMA] : [GROUP_SCHEMA, USER_SCHEMA];
  const lower = (path.uri ?? path.attr).toLowerCase();
  if (lower === other.toLowerCase() || (!path.uri && lower === own.toLowerCase())) throw ScimError.invalidPath(`"${path.uri ?? path.attr}" is not an attribute of a ${type}`);
  return path.uri?.toLowerCase() === own.toLowerCase() ? { ...path, uri: undefined } : path;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The existing key matching `name` case-insensitively, else `name` itself. */
function findKey(obj: Record<string, unknown>, name: string): string {
  const lower = name.toLowerCase();
  return Object.keys(obj ?? {}).find(k => k.toLowerCase() === lower) ?? name;
}
