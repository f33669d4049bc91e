import { Injectable } from '@nestjs/common';
import { ResourceWrite } from '../../identity/resource.service.js';
import { StoredResource } from '../../identity/resource.types.js';
import { canonicalKey, coerceBoolean, hashPassword, parseMembers } from '../resource.input.js';
import { ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';
import { parsePath, PatchPath } from './patch-path.js';

/** One PATCH operation after parsing (RFC 7644 §3.5.2); `op` lower-cased (Entra sends `Replace`). */
export interface PatchOperation { op: 'add' | 'replace' | 'remove'; path?: PatchPath; rawPath?: string; value?: unknown }

const READ_ONLY = new Set(['id', 'meta', 'groups']);

/**
 * PATCH engine (RFC 7644 §3.5.2), our own: npm patch libraries miss case-insensitive names, URN
 * paths, Entra's dialect and membership as a table. Applies every operation to a copy; any error
 * rejects the whole request (all or none). `members` changes become an O(1)-per-member delta.
 */
@Injectable()
export class PatchService {
  /** Validates a PatchOp body. 400 invalidSyntax / invalidPath. */
  parse(body: unknown): PatchOperation[] {
    const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown };
    if (!b || typeof b !== 'object') throw ScimError.invalidSyntax('PATCH body must be a JSON object');
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
      if (op === 'remove' && !rawPath && value === undefined) throw ScimError.noTarget(`Operations[${i}]: remove needs a path`);
      if (op !== 'remove' && value === undefined) throw ScimError.invalidSyntax(`Operations[${i}]: ${op} needs a value`);
      return { op, rawPath, path: rawPath ? parsePath(rawPath) : undefined, value } as PatchOperation;
    });
  }

  /** Applies operations to the current resource; returns the write for ResourceService.update. */
  apply(type: ResourceTypeName, current: StoredResource, ops: PatchOperation[]): ResourceWrite {
    const doc = structuredClone(current.doc);
    const delta = { add: [] as Array<{ value: string; type: string }>, remove: [] as string[], replaceAll: false };
    let membersTouched = false;
    for (const op of ops) {
      if (!op.path) {
        // No path: the value is an object of attributes (RFC 7644 §3.5.2.1/.3); Entra sends dotted and URN keys.
        if (!op.value || typeof op.value !== 'object' || Array.isArray(op.value)) throw ScimError.invalidSyntax(`${op.op} without path needs an object value`);
        for (const [k, v] of Object.entries(op.value as Record<string, unknown>)) {
          const path = parsePath(k);
          if (type === 'Group' && path.attr.toLowerCase() === 'members') { membersTouched = true; this.members(op.op, path, v, delta); continue; }
          this.applyOne(doc, op.op, path, v);
        }
        continue;
      }
      if (type === 'Group' && op.path.attr.toLowerCase() === 'members' && !op.path.uri) { membersTouched = true; this.members(op.op, op.path, op.value, delta); continue; }
      this.applyOne(doc, op.op, op.path, op.value);
    }
    this.fixSchemas(type, doc);
    if (type === 'User' && (typeof doc.userName !== 'string' || !doc.userName)) throw ScimError.invalidValue('userName is required');
    if (type === 'Group' && (typeof doc.displayName !== 'string' || !doc.displayName)) throw ScimError.invalidValue('displayName is required');
    return { doc, memberDelta: membersTouched ? delta : undefined };
  }

  private members(op: string, path: PatchPath, value: unknown, delta: { add: Array<{ value: string; type: string }>; remove: string[]; replaceAll: boolean }): void {
    if (path.sub) throw ScimError.invalidPath('members sub-attributes cannot be patched');
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

  private applyOne(doc: Record<string, unknown>, op: string, path: PatchPath, value: unknown): void {
    const attrLower = path.attr.toLowerCase();
    if (!path.uri && READ_ONLY.has(attrLower)) throw ScimError.mutability(`${path.attr} is readOnly`);
    const container = this.container(doc, path, op !== 'remove');
    if (!container) return;
    const key = findKey(container, path.uri ? path.attr : canonicalKey(path.attr));
    if (attrLower === 'password' && !path.uri) {
      if (op === 'remove') delete doc.password; else doc.password = hashPassword(String(value));
      return;
    }
    const v = attrLower === 'active' || path.sub?.toLowerCase() === 'primary' ? coerceBoolean(value) : value;
    if (path.filter) return this.applyFiltered(container, key, op, path, v);
    if (path.sub) {
      const parent = container[key];
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
      container[key] = [...existing, ...(Array.isArray(v) ? v : [v])];
    } else if (op === 'add' && existing && typeof existing === 'object' && v && typeof v === 'object' && !Array.isArray(v)) {
      container[key] = { ...(existing as object), ...(v as object) };
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

  private container(doc: Record<string, unknown>, path: PatchPath, create: boolean): Record<string, unknown> | undefined {
    if (!path.uri || path.uri.toLowerCase() === USER_SCHEMA.toLowerCase()) return doc;
    const k = findKey(doc, path.uri.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase() ? ENTERPRISE_USER_SCHEMA : path.uri);
    if (!doc[k] && create) doc[k] = {};
    return doc[k] as Record<string, unknown> | undefined;
  }

  private fixSchemas(type: ResourceTypeName, doc: Record<string, unknown>): void {
    if (type !== 'User') return;
    const ext = doc[ENTERPRISE_USER_SCHEMA] as Record<string, unknown> | undefined;
    if (ext && Object.keys(ext).length === 0) delete doc[ENTERPRISE_USER_SCHEMA];
    doc.schemas = doc[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA];
  }
}

/** The existing key matching `name` case-insensitively, else `name` itself. */
function findKey(obj: Record<string, unknown>, name: string): string {
  const lower = name.toLowerCase();
  return Object.keys(obj ?? {}).find(k => k.toLowerCase() === lower) ?? name;
}
