import { createHash } from 'node:crypto';
import type { PatchOperation } from '../targets/scim-client.js';
import { keyCI, getCI, isObject } from '../common/json.util.js';

import type { Json } from '../common/json.util.js';

/**
 * The PATCH operations (RFC 7644 §3.5.2) that take a target from the payload last pushed to `desired`.
 * Pure; both sides are `mapResource` payloads.
 *
 * - Changed or added attributes become `replace` (a replace of an absent attribute acts as an add, §3.5.2.3).
 * - Complex singular attributes (`name`) are compared per sub-attribute (`name.givenName`) when both
 *   sides have them, and replaced whole when they are new.
 * - Extension attributes use URN-qualified paths (`urn:…:enterprise:2.0:User:department`); a schema URN
 *   alone is not a valid path, so a vanished extension becomes one `remove` per attribute.
 * - Multi-valued attributes (`emails`) are replaced whole.
 * - Attributes that disappeared become `remove` with a path; `schemas` is never touched.
 */
export function diffMapped(previous: Json | undefined, desired: Json): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const prev = withoutSchemas(previous ?? {});
  const next = withoutSchemas(desired);
  for (const [key, value] of Object.entries(next)) {
    const before = getCI(prev, key);
    if (isExtension(key, value) || isExtension(key, before)) diffLevel(ops, `${key}:`, asObject(before), asObject(value));
    else diffAttribute(ops, key, before, value);
  }
  for (const [key, value] of Object.entries(prev)) {
    if (keyCI(next, key) !== undefined) continue;
    if (isExtension(key, value)) diffLevel(ops, `${key}:`, asObject(value), {});
    else if (!isAbsent(value)) ops.push({ op: 'remove', path: key });
  }
  return ops;
}

/** A stable hash of a mapped payload: sha256 (hex) of its JSON with object keys sorted. */
export function hashMapped(payload: Json): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

function diffLevel(ops: PatchOperation[], prefix: string, prev: Json, next: Json): void {
  for (const [key, value] of Object.entries(next)) diffAttribute(ops, `${prefix}${key}`, getCI(prev, key), value);
  for (const [key, value] of Object.entries(prev)) {
    if (keyCI(next, key) === undefined && !isAbsent(value)) ops.push({ op: 'remove', path: `${prefix}${key}` });
  }
}

function diffAttribute(ops: PatchOperation[], path: string, prev: unknown, next: unknown): void {
  if (isAbsent(next)) {
    if (!isAbsent(prev)) ops.push({ op: 'remove', path });
    return;
  }
  if (isObject(next) && isObject(prev) && !isAbsent(prev)) {
    diffLevel(ops, `${path}.`, prev, next);
    return;
  }
  if (isAbsent(prev) || canonicalJson(prev) !== canonicalJson(next)) ops.push({ op: 'replace', path, value: next });
}

function withoutSchemas(payload: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(payload)) if (key.toLowerCase() !== 'schemas') out[key] = value;
  return out;
}

function isExtension(key: string, value: unknown): boolean {
  return key.toLowerCase().startsWith('urn:') && isObject(value);
}

function isAbsent(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.values(value).every(isAbsent);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(v => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).filter(k => value[k] !== undefined).sort();
    return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function asObject(value: unknown): Json {
  return isObject(value) ? value : {};
}

