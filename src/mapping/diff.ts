import { createHash } from 'node:crypto';
import type { PatchOperation } from '../targets/scim-client.js';
import { keyCI, getCI, isObject } from '../common/json.util.js';
import { canonicalJson } from './canonical-json.js';
import type { DiffIntent } from './target-rules.js';

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
 * - Intent (issue 4): with `intent`, a `remove` is sent only for paths the current mapping owns with
 *   `applyOn: always`. Attributes mapped `applyOn: create` and attributes no longer mapped since the
 *   last push stay as the target has them; a complex attribute only partly owned is removed per
 *   sub-attribute. `previous` is the link's stored pushed state (the `always` part of the last push), or
 *   the remote resource for a read-back repair.
 */
export function diffMapped(previous: Json | undefined, desired: Json, intent?: DiffIntent): PatchOperation[] {
  const ops: Ops = Object.assign([] as PatchOperation[], { intent });
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
    else if (!isAbsent(value)) removeOp(ops, key, value);
  }
  return [...ops];
}

type Ops = PatchOperation[] & { intent?: DiffIntent };

/** Emits `remove` for `path` as far as the intent allows: the whole attribute, its owned sub-attributes, or nothing. */
function removeOp(ops: Ops, path: string, prev: unknown): void {
  const decision = ops.intent?.removal(path) ?? 'remove';
  if (decision === 'remove') ops.push({ op: 'remove', path });
  else if (decision === 'descend' && isObject(prev)) {
    for (const [key, value] of Object.entries(prev)) if (!isAbsent(value)) removeOp(ops, `${path}.${key}`, value);
  }
}

/** A stable hash of a mapped payload: sha256 (hex) of its JSON with object keys sorted. */
export function hashMapped(payload: Json): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

function diffLevel(ops: Ops, prefix: string, prev: Json, next: Json): void {
  for (const [key, value] of Object.entries(next)) diffAttribute(ops, `${prefix}${key}`, getCI(prev, key), value);
  for (const [key, value] of Object.entries(prev)) {
    if (keyCI(next, key) === undefined && !isAbsent(value)) removeOp(ops, `${prefix}${key}`, value);
  }
}

function diffAttribute(ops: Ops, path: string, prev: unknown, next: unknown): void {
  if (isAbsent(next)) {
    if (!isAbsent(prev)) removeOp(ops, path, prev);
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

function asObject(value: unknown): Json {
  return isObject(value) ? value : {};
}

