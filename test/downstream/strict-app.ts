import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import {
  clone,
  closeServer,
  listenLocal,
  recordRequest,
  SCIM_BASE_PATH,
  type DownstreamApp,
  type DownstreamAppOptions,
  type RequestRecord,
  type ScimObject,
} from './downstream-app.js';

const URN = {
  User: 'urn:ietf:params:scim:schemas:core:2.0:User',
  EnterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  Group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  PatchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  ListResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  Error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  ServiceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  Schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  ResourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
} as const;

const SCIM_JSON = 'application/scim+json';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_COUNT = 100;
const MAX_RESULTS = 200;
// Deliberately narrow: a clean local@domain with no spaces, quotes or display-name wrapping ("Bob <b@x.io>").
const EMAIL_RE = /^[^\s@"<>(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

// Schema definitions (RFC 7643 §4, §7, §8.7)

type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex';

interface AttrDef {
  name: string;
  type: AttrType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttrDef[];
  canonicalValues?: string[];
  referenceTypes?: string[];
  /** Extra value check this server applies; not part of the published schema. */
  format?: 'email';
}

function attr(name: string, type: AttrType = 'string', extra: Partial<AttrDef> = {}): AttrDef {
  return {
    name, type, multiValued: false, description: name, required: false, caseExact: false,
    mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra,
  };
}

function multi(name: string, subAttributes: AttrDef[], extra: Partial<AttrDef> = {}): AttrDef {
  return attr(name, 'complex', { multiValued: true, subAttributes, ...extra });
}

const typedValue = (valueType: AttrType = 'string', extra: Partial<AttrDef> = {}) => [
  attr('value', valueType, extra),
  attr('display'),
  attr('type'),
  attr('primary', 'boolean'),
];

/** id, externalId and meta: on every resource, but not listed in /Schemas (RFC 7643 §3.1). */
const COMMON_ATTRS: AttrDef[] = [
  attr('id', 'string', { mutability: 'readOnly', returned: 'always', caseExact: true, uniqueness: 'server' }),
  attr('externalId', 'string', { caseExact: true }),
  attr('meta', 'complex', {
    mutability: 'readOnly',
    subAttributes: ['resourceType', 'created', 'lastModified', 'location', 'version'].map((n) =>
      attr(n, n === 'created' || n === 'lastModified' ? 'dateTime' : 'string', { mutability: 'readOnly' }),
    ),
  }),
];

const USER_ATTRS: AttrDef[] = [
  attr('userName', 'string', { required: true, uniqueness: 'server' }),
  attr('name', 'complex', {
    subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => attr(n)),
  }),
  attr('displayName'),
  attr('nickName'),
  attr('profileUrl', 'reference', { referenceTypes: ['external'] }),
  attr('title'),
  attr('userType'),
  attr('preferredLanguage'),
  attr('locale'),
  attr('timezone'),
  attr('active', 'boolean'),
  attr('password', 'string', { mutability: 'writeOnly', returned: 'never' }),
  multi('emails', typedValue('string', { required: true, format: 'email' }), { canonicalValues: ['work', 'home', 'other'] }),
  multi('phoneNumbers', typedValue('string', { required: true })),
  multi('ims', typedValue()),
  multi('photos', typedValue('reference', { referenceTypes: ['external'] })),
  multi('addresses', [
    ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((n) => attr(n)),
    attr('primary', 'boolean'),
  ]),
  multi(
    'groups',
    [
      attr('value', 'string', { mutability: 'readOnly', caseExact: true }),
      attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['User', 'Group'] }),
      attr('display', 'string', { mutability: 'readOnly' }),
      attr('type', 'string', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
    ],
    { mutability: 'readOnly' },
  ),
  multi('entitlements', typedValue()),
  multi('roles', typedValue()),
  multi('x509Certificates', typedValue('binary')),
];

const ENTERPRISE_ATTRS: AttrDef[] = [
  attr('employeeNumber'),
  attr('costCenter'),
  attr('organization'),
  attr('division'),
  attr('department'),
  attr('manager', 'complex', {
    subAttributes: [
      attr('value', 'string', { caseExact: true }),
      attr('$ref', 'reference', { referenceTypes: ['User'] }),
      attr('displayName', 'string', { mutability: 'readOnly' }),
    ],
  }),
];

const GROUP_ATTRS: AttrDef[] = [
  attr('displayName', 'string', { required: true }),
  multi('members', [
    // RFC 7643 §2.4 lists display as a default sub-attribute of multi-valued attributes; clients send it.
    attr('value', 'string', { required: true, mutability: 'immutable', caseExact: true }),
    attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
    attr('display', 'string', { mutability: 'immutable' }),
    attr('type', 'string', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
  ]),
];

interface SchemaDef { id: string; name: string; description: string; attributes: AttrDef[] }

const SCHEMAS: SchemaDef[] = [
  { id: URN.User, name: 'User', description: 'User Account', attributes: USER_ATTRS },
  { id: URN.EnterpriseUser, name: 'EnterpriseUser', description: 'Enterprise User', attributes: ENTERPRISE_ATTRS },
  { id: URN.Group, name: 'Group', description: 'Group', attributes: GROUP_ATTRS },
];

/** A resource type this server serves, with its storage. */
interface Kind {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  core: SchemaDef;
  extensions: SchemaDef[];
  /** Attributes a list filter may use: `attr eq "value"` only. */
  filterable: string[];
  store: Map<string, Stored>;
}

interface Stored {
  id: string;
  /** Canonically named attributes, extension data under its URN key; never id/meta/schemas. */
  doc: Record<string, unknown>;
  created: string;
  lastModified: string;
  version: number;
}

type Doc = Record<string, unknown>;

// Errors (RFC 7644 §3.12)

class ScimHttpError extends Error {
  constructor(readonly status: number, readonly scimType: string | undefined, detail: string) {
    super(detail);
  }
}

const fail = {
  syntax: (d: string) => new ScimHttpError(400, 'invalidSyntax', d),
  value: (d: string) => new ScimHttpError(400, 'invalidValue', d),
  mutability: (d: string) => new ScimHttpError(400, 'mutability', d),
  path: (d: string) => new ScimHttpError(400, 'invalidPath', d),
  filter: (d: string) => new ScimHttpError(400, 'invalidFilter', d),
  noTarget: (d: string) => new ScimHttpError(400, 'noTarget', d),
  uniqueness: (d: string) => new ScimHttpError(409, 'uniqueness', d),
  notFound: (d: string) => new ScimHttpError(404, undefined, d),
  plain: (status: number, d: string) => new ScimHttpError(status, undefined, d),
};

// Validation

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function findAttr(defs: AttrDef[], name: string): AttrDef | undefined {
  // RFC 7643 §2.1: attribute names are case-insensitive.
  const lower = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === lower);
}

function validateScalar(def: AttrDef, raw: unknown, where: string): unknown {
  const got = JSON.stringify(raw);
  switch (def.type) {
    case 'boolean':
      if (typeof raw !== 'boolean') throw fail.value(`"${where}" must be a JSON boolean, got ${got}`);
      return raw;
    case 'integer':
      if (!Number.isInteger(raw)) throw fail.value(`"${where}" must be an integer, got ${got}`);
      return raw;
    case 'decimal':
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw fail.value(`"${where}" must be a number, got ${got}`);
      return raw;
    case 'dateTime':
      if (typeof raw !== 'string' || !DATE_TIME_RE.test(raw) || Number.isNaN(Date.parse(raw)))
        throw fail.value(`"${where}" must be an xsd:dateTime string, got ${got}`);
      return raw;
    default:
      if (typeof raw !== 'string') throw fail.value(`"${where}" must be a string, got ${got}`);
      if (def.format === 'email' && !EMAIL_RE.test(raw)) throw fail.value(`"${where}" is not an email address: ${got}`);
      if (def.type === 'binary' && !BASE64_RE.test(raw)) throw fail.value(`"${where}" must be base64, got ${got}`);
      return raw;
  }
}

/** Validates a complex value against its sub-attributes; returns it with canonical names, or undefined when empty. */
function validateComplex(defs: AttrDef[], raw: unknown, where: string): Doc | undefined {
  if (!isObject(raw)) throw fail.value(`"${where}" must be a JSON object, got ${JSON.stringify(raw)}`);
  const out: Doc = {};
  for (const [key, value] of Object.entries(raw)) validateInto(defs, key, value, where ? `${where}.${key}` : key, out);
  for (const def of defs) {
    if (def.required && out[def.name] === undefined) throw fail.value(`"${where ? `${where}.` : ''}${def.name}" is required`);
  }
  return Object.keys(out).length ? out : undefined;
}

function validateInto(defs: AttrDef[], key: string, raw: unknown, where: string, out: Doc): void {
  const def = findAttr(defs, key);
  if (!def) throw fail.syntax(`Unknown attribute "${where}"`);
  if (def.mutability === 'readOnly') throw fail.mutability(`"${where}" is readOnly and must not be sent`);
  if (def.name in out) throw fail.syntax(`Attribute "${where}" appears twice (names are case-insensitive)`);
  const value = validateValue(def, raw, where);
  if (value !== undefined) out[def.name] = value;
}

function validateValue(def: AttrDef, raw: unknown, where: string): unknown {
  // RFC 7644 §3.5.1: null (or an empty array) means "unassigned".
  if (raw === null) return undefined;
  const single = (v: unknown, w: string) => (def.type === 'complex' ? validateComplex(def.subAttributes ?? [], v, w) : validateScalar(def, v, w));
  if (!def.multiValued) return single(raw, where);
  if (!Array.isArray(raw)) throw fail.value(`"${where}" is multi-valued and must be a JSON array`);
  const items = raw.map((v, i) => {
    if (v === null) throw fail.value(`"${where}[${i}]" must not be null`);
    return single(v, `${where}[${i}]`);
  }).filter((v) => v !== undefined);
  // RFC 7643 §2.4: "primary" true appears no more than once.
  if (items.filter((v) => isObject(v) && v.primary === true).length > 1) throw fail.value(`"${where}" has more than one primary value`);
  return items.length ? items : undefined;
}

function schemasFor(kind: Kind, doc: Doc): string[] {
  return [kind.core.id, ...kind.extensions.filter((e) => doc[e.id] !== undefined).map((e) => e.id)];
}

/** Validates a full resource body (POST, PUT, or the result of a PATCH) and returns its canonical doc. */
function validateResource(kind: Kind, body: unknown): Doc {
  if (!isObject(body)) throw fail.syntax('Request body must be a JSON object');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || schemas.length === 0 || !schemas.every((s) => typeof s === 'string'))
    throw fail.syntax(`"schemas" must be a non-empty array of schema URNs including "${kind.core.id}"`);
  const known = [kind.core, ...kind.extensions].map((s) => s.id);
  const lowered = schemas.map((s: string) => s.toLowerCase());
  if (new Set(lowered).size !== lowered.length) throw fail.syntax('"schemas" lists a URN twice');
  const unknown = schemas.find((s: string) => !known.some((k) => k.toLowerCase() === s.toLowerCase()));
  if (unknown) throw fail.syntax(`"schemas" contains "${unknown}", which ${kind.name} does not support`);
  if (!lowered.includes(kind.core.id.toLowerCase())) throw fail.syntax(`"schemas" must include "${kind.core.id}"`);

  const doc: Doc = {};
  const topLevel = [...COMMON_ATTRS, ...kind.core.attributes];
  for (const [key, raw] of Object.entries(body)) {
    if (key === 'schemas') continue;
    const ext = kind.extensions.find((e) => e.id.toLowerCase() === key.toLowerCase());
    if (ext) {
      // RFC 7643 §3: extension attributes are only valid when their URN is in "schemas".
      if (!lowered.includes(ext.id.toLowerCase())) throw fail.syntax(`Extension "${ext.id}" is used but missing from "schemas"`);
      const value = raw === null ? undefined : validateComplex(ext.attributes, raw, ext.id);
      if (value) doc[ext.id] = value;
      continue;
    }
    if (key.toLowerCase().startsWith('urn:')) throw fail.syntax(`Unknown schema extension "${key}"`);
    validateInto(topLevel, key, raw, key, doc);
  }
  for (const def of kind.core.attributes) {
    if (def.required && (doc[def.name] === undefined || doc[def.name] === '')) throw fail.value(`"${def.name}" is required`);
  }
  return doc;
}

// Filters (list)

const LIST_FILTER_RE = /^\s*([A-Za-z][\w-]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;

function parseListFilter(kind: Kind, filter: string): (s: Stored) => boolean {
  const match = LIST_FILTER_RE.exec(filter);
  if (!match) throw fail.filter(`Only 'attribute eq "value"' filters are supported, got: ${filter}`);
  const name = kind.filterable.find((f) => f.toLowerCase() === match[1].toLowerCase());
  if (!name) throw fail.filter(`Filtering on "${match[1]}" is not supported; use one of ${kind.filterable.join(', ')}`);
  let value: string;
  try {
    value = JSON.parse(match[2]) as string;
  } catch {
    throw fail.filter(`Bad string literal in filter: ${match[2]}`);
  }
  const def = findAttr([...COMMON_ATTRS, ...kind.core.attributes], name)!;
  const norm = (v: unknown) => (def.caseExact ? v : String(v).toLowerCase());
  return (s) => {
    const actual = name === 'id' ? s.id : s.doc[name];
    return typeof actual === 'string' && norm(actual) === norm(value);
  };
}

// PATCH (RFC 7644 §3.5.2)

/** A resolved PATCH path: which object holds the attribute, and what to select inside it. */
interface Target {
  /** Extension URN whose object holds the attribute, or undefined for core. */
  container?: string;
  /** The attribute; undefined when the path is a bare extension URN (the whole extension object). */
  def?: AttrDef;
  filter?: { sub: AttrDef; value: unknown };
  sub?: AttrDef;
}

const PATH_RE = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/;
const VALUE_FILTER_RE = /^\s*([A-Za-z$][\w$-]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*$/i;

function resolvePath(kind: Kind, path: string): Target {
  let rest = path;
  let schema = kind.core;
  let container: string | undefined;
  const lower = path.toLowerCase();
  for (const s of [kind.core, ...kind.extensions]) {
    const urn = s.id.toLowerCase();
    if (lower === urn && s !== kind.core) return { container: s.id };
    if (lower.startsWith(`${urn}:`)) {
      rest = path.slice(urn.length + 1);
      schema = s;
      container = s === kind.core ? undefined : s.id;
    }
  }
  if (rest.toLowerCase().startsWith('urn:')) throw fail.path(`Unknown schema in path "${path}"`);
  const m = PATH_RE.exec(rest);
  if (!m) throw fail.path(`Malformed path "${path}"`);
  const defs = container ? schema.attributes : [...COMMON_ATTRS, ...schema.attributes];
  const def = findAttr(defs, m[1]);
  if (!def) throw fail.path(`Unknown attribute "${m[1]}" in path "${path}"`);
  if (def.mutability === 'readOnly') throw fail.mutability(`"${def.name}" is readOnly`);
  const target: Target = { container, def };
  if (m[2] !== undefined) {
    if (!def.multiValued || def.type !== 'complex') throw fail.path(`"${def.name}" is not a multi-valued complex attribute`);
    const f = VALUE_FILTER_RE.exec(m[2]);
    if (!f) throw fail.filter(`Only 'subAttribute eq value' is supported inside [], got: ${m[2]}`);
    const sub = findAttr(def.subAttributes ?? [], f[1]);
    if (!sub) throw fail.filter(`Unknown sub-attribute "${f[1]}" of "${def.name}"`);
    // Literals other than strings are case-insensitive keywords (true/false/null) or numbers.
    target.filter = { sub, value: JSON.parse(f[2].startsWith('"') ? f[2] : f[2].toLowerCase()) };
  }
  if (m[3] !== undefined) {
    if (def.type !== 'complex') throw fail.path(`"${def.name}" has no sub-attributes`);
    if (def.multiValued && !target.filter) throw fail.path(`"${path}": select values of "${def.name}" with a filter before naming a sub-attribute`);
    const sub = findAttr(def.subAttributes ?? [], m[3]);
    if (!sub) throw fail.path(`Unknown sub-attribute "${m[3]}" in path "${path}"`);
    if (sub.mutability === 'readOnly') throw fail.mutability(`"${def.name}.${sub.name}" is readOnly`);
    target.sub = sub;
  }
  return target;
}

function matches(filter: NonNullable<Target['filter']>, item: unknown): boolean {
  if (!isObject(item)) return false;
  const actual = item[filter.sub.name];
  if (typeof actual === 'string' && typeof filter.value === 'string' && !filter.sub.caseExact)
    return actual.toLowerCase() === filter.value.toLowerCase();
  return actual === filter.value;
}

/** Renames the keys of a client-sent complex value to canonical sub-attribute names (validation happens later). */
function canonicalKeys(def: AttrDef, value: unknown): unknown {
  if (!isObject(value) || def.type !== 'complex') return value;
  const out: Doc = {};
  for (const [k, v] of Object.entries(value)) out[findAttr(def.subAttributes ?? [], k)?.name ?? k] = v;
  return out;
}

function sameItem(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b) && a.value !== undefined) return a.value === b.value;
  return isDeepStrictEqual(a, b);
}

function applyOp(kind: Kind, doc: Doc, op: 'add' | 'replace' | 'remove', path: string, value: unknown): void {
  const t = resolvePath(kind, path);
  const holder = t.container ? ((doc[t.container] as Doc | undefined) ?? (doc[t.container] = {})) : doc;
  if (!t.def) {
    // Bare extension URN: the value is that extension's attribute object.
    if (op === 'remove') delete doc[t.container!];
    else applyObject(kind, doc, op, value, t.container);
    return;
  }
  const def = t.def;
  const current = holder[def.name];

  if (t.filter) {
    const items = Array.isArray(current) ? current : [];
    const hit = items.filter((i) => matches(t.filter!, i));
    if (op === 'remove') {
      if (t.sub) hit.forEach((i) => delete (i as Doc)[t.sub!.name]);
      else holder[def.name] = items.filter((i) => !hit.includes(i));
      return;
    }
    // RFC 7644 §3.5.2.3: a value filter that matches nothing is a noTarget error.
    if (!hit.length) throw fail.noTarget(`No value of "${def.name}" matches the filter in "${path}"`);
    for (const item of hit) {
      if (t.sub) (item as Doc)[t.sub.name] = value;
      else items[items.indexOf(item)] = canonicalKeys(def, value);
    }
    return;
  }

  if (t.sub) {
    if (op === 'remove') {
      if (isObject(current)) delete current[t.sub.name];
      return;
    }
    holder[def.name] = { ...(isObject(current) ? current : {}), [t.sub.name]: value };
    return;
  }

  if (op === 'remove') {
    delete holder[def.name];
    return;
  }
  if (def.mutability === 'immutable' && current !== undefined) throw fail.mutability(`"${def.name}" is immutable`);
  if (def.multiValued) {
    if (!Array.isArray(value)) throw fail.value(`"${path}": the value for a multi-valued attribute must be an array`);
    const incoming = value.map((v) => canonicalKeys(def, v));
    if (op === 'replace') {
      holder[def.name] = incoming;
      return;
    }
    // RFC 7644 §3.5.2.1: adding a value that is already present changes nothing.
    const merged = Array.isArray(current) ? [...current] : [];
    for (const item of incoming) if (!merged.some((m) => sameItem(m, item))) merged.push(item);
    holder[def.name] = merged;
    return;
  }
  if (def.type === 'complex' && isObject(value) && isObject(current)) {
    // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not named in the value are left as they are.
    holder[def.name] = { ...current, ...(canonicalKeys(def, value) as Doc) };
    return;
  }
  holder[def.name] = canonicalKeys(def, value);
}

/** No-path add/replace: every key of the value object is an attribute name (or an extension URN). */
function applyObject(kind: Kind, doc: Doc, op: 'add' | 'replace', value: unknown, container?: string): void {
  if (!isObject(value)) throw fail.syntax(`"${op}" without a path needs an object value`);
  for (const [key, v] of Object.entries(value)) {
    if (!container && kind.extensions.some((e) => e.id.toLowerCase() === key.toLowerCase())) {
      applyObject(kind, doc, op, v, kind.extensions.find((e) => e.id.toLowerCase() === key.toLowerCase())!.id);
      continue;
    }
    if (!/^[A-Za-z$][\w$-]*$/.test(key)) throw fail.syntax(`"${key}" is not an attribute name; use "path" to address sub-attributes`);
    applyOp(kind, doc, op, container ? `${container}:${key}` : key, v);
  }
}

function applyPatch(kind: Kind, stored: Stored, body: unknown): Doc {
  if (!isObject(body)) throw fail.syntax('PATCH body must be a JSON object');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || schemas.length !== 1 || schemas[0] !== URN.PatchOp)
    throw fail.syntax(`PATCH "schemas" must be ["${URN.PatchOp}"]`);
  const unexpected = Object.keys(body).find((k) => k !== 'schemas' && k !== 'Operations');
  if (unexpected) throw fail.syntax(`Unknown PatchOp attribute "${unexpected}"`);
  const ops = body.Operations;
  if (!Array.isArray(ops) || ops.length === 0) throw fail.syntax('"Operations" must be a non-empty array');

  const doc = clone(stored.doc);
  ops.forEach((operation: unknown, i: number) => {
    const where = `Operations[${i}]`;
    if (!isObject(operation)) throw fail.syntax(`${where} must be an object`);
    const extra = Object.keys(operation).find((k) => !['op', 'path', 'value'].includes(k));
    if (extra) throw fail.syntax(`${where} has unknown member "${extra}"`);
    const { op, path, value } = operation;
    // RFC 7644 §3.5.2: op is one of "add", "remove", "replace" (this server does not fold case).
    if (op !== 'add' && op !== 'remove' && op !== 'replace')
      throw fail.syntax(`${where}.op must be "add", "remove" or "replace", got ${JSON.stringify(op)}`);
    if (path !== undefined && (typeof path !== 'string' || !path.trim())) throw fail.path(`${where}.path must be a non-empty string`);
    if (op === 'remove') {
      // RFC 7644 §3.5.2.2: remove without a path is noTarget.
      if (path === undefined) throw fail.noTarget(`${where}: "remove" requires a path`);
      if (value !== undefined) throw fail.syntax(`${where}: "remove" takes no value; select values with a filter in the path`);
      applyOp(kind, doc, op, path as string, undefined);
      return;
    }
    if (!('value' in operation)) throw fail.syntax(`${where}: "${op}" requires a value`);
    if (path === undefined) applyObject(kind, doc, op, value);
    else applyOp(kind, doc, op, path as string, value);
  });
  for (const e of kind.extensions) if (isObject(doc[e.id]) && !Object.keys(doc[e.id] as Doc).length) delete doc[e.id];
  return validateResource(kind, { schemas: schemasFor(kind, doc), ...doc });
}

// HTTP

interface Ctx {
  origin: string;
  token: string;
  users: Kind;
  groups: Kind;
  /** Answers any list `filter` with 400 invalidFilter and says `filter.supported: false` (a no-filter app). */
  noFilter?: boolean;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': SCIM_JSON, ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function sendError(res: ServerResponse, err: ScimHttpError, headers: Record<string, string> = {}): void {
  send(res, err.status, {
    schemas: [URN.Error],
    status: String(err.status),
    ...(err.scimType ? { scimType: err.scimType } : {}),
    detail: err.message,
  }, headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  // RFC 7644 §8.1: application/scim+json, and application/json is accepted too.
  if (type !== SCIM_JSON && type !== 'application/json') throw fail.plain(415, `Content-Type must be ${SCIM_JSON}, got "${type}"`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw fail.plain(413, `Body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw fail.syntax('Request body is empty');
  try {
    return JSON.parse(text);
  } catch {
    throw fail.syntax('Request body is not valid JSON');
  }
}

const etagOf = (s: Stored) => `W/"${s.version}"`;

/** RFC 7232 weak comparison; "*" matches any current version. */
function checkIfMatch(req: IncomingMessage, stored: Stored): void {
  const header = req.headers['if-match'];
  if (!header) return;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(`"${stored.version}"`)) return;
  throw fail.plain(412, `If-Match ${header} does not match the current version ${etagOf(stored)}`);
}

function groupsOf(ctx: Ctx, userId: string): Doc[] {
  return [...ctx.groups.store.values()]
    .filter((g) => (g.doc.members as Doc[] | undefined)?.some((m) => m.value === userId))
    .map((g) => ({ value: g.id, $ref: `${ctx.origin}${SCIM_BASE_PATH}/Groups/${g.id}`, display: g.doc.displayName, type: 'direct' }));
}

function render(ctx: Ctx, kind: Kind, s: Stored): ScimObject {
  const doc = clone(s.doc);
  for (const def of kind.core.attributes) if (def.returned === 'never') delete doc[def.name];
  const groups = kind.name === 'User' ? groupsOf(ctx, s.id) : [];
  return {
    schemas: schemasFor(kind, s.doc),
    id: s.id,
    ...doc,
    ...(groups.length ? { groups } : {}),
    meta: {
      resourceType: kind.name,
      created: s.created,
      lastModified: s.lastModified,
      location: `${ctx.origin}${SCIM_BASE_PATH}${kind.endpoint}/${s.id}`,
      version: etagOf(s),
    },
  };
}

/** `attributes` / `excludedAttributes` on top-level names (a dotted name keeps its whole parent). */
function project(resource: ScimObject, params: URLSearchParams): ScimObject {
  const names = (key: string) =>
    (params.get(key) ?? '').split(',').map((n) => n.trim()).filter(Boolean).map((n) => {
      const ext = [URN.EnterpriseUser].find((u) => n.toLowerCase().startsWith(u.toLowerCase()));
      if (ext) return ext.toLowerCase();
      return n.replace(/^urn:.*:/i, '').split('.')[0].toLowerCase();
    });
  const include = names('attributes');
  const exclude = names('excludedAttributes');
  const always = new Set(['schemas', 'id']);
  return Object.fromEntries(
    Object.entries(resource).filter(([k]) => {
      const lower = k.toLowerCase();
      if (always.has(k)) return true;
      if (include.length) return include.includes(lower);
      return !exclude.includes(lower);
    }),
  ) as ScimObject;
}

function pageParam(params: URLSearchParams, key: string, fallback: number): number {
  const raw = params.get(key);
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw fail.value(`"${key}" must be an integer, got "${raw}"`);
  return Number(raw);
}

function checkMembers(ctx: Ctx, doc: Doc): void {
  const members = (doc.members as Doc[] | undefined) ?? [];
  const seen = new Set<unknown>();
  for (const m of members) {
    if (seen.has(m.value)) throw fail.value(`members lists "${String(m.value)}" twice`);
    seen.add(m.value);
    const isUser = ctx.users.store.has(String(m.value));
    const isGroup = ctx.groups.store.has(String(m.value));
    if (!isUser && !isGroup) throw fail.value(`members.value "${String(m.value)}" is not an existing resource id`);
    if (m.type !== undefined && m.type !== (isUser ? 'User' : 'Group'))
      throw fail.value(`members.type for "${String(m.value)}" must be "${isUser ? 'User' : 'Group'}"`);
  }
}

function checkUniqueness(kind: Kind, doc: Doc, selfId?: string): void {
  for (const other of kind.store.values()) {
    if (other.id === selfId) continue;
    if (kind.name === 'User' && typeof doc.userName === 'string' && String(other.doc.userName).toLowerCase() === doc.userName.toLowerCase())
      throw fail.uniqueness(`userName "${doc.userName}" is already taken`);
    if (doc.externalId !== undefined && other.doc.externalId === doc.externalId)
      throw fail.uniqueness(`externalId "${String(doc.externalId)}" is already taken`);
  }
}

function commit(ctx: Ctx, kind: Kind, doc: Doc, existing?: Stored): Stored {
  if (kind.name === 'Group') checkMembers(ctx, doc);
  checkUniqueness(kind, doc, existing?.id);
  const now = new Date().toISOString();
  if (existing && isDeepStrictEqual(existing.doc, doc)) return existing;
  const stored: Stored = existing
    ? { ...existing, doc, lastModified: now, version: existing.version + 1 }
    : { id: randomUUID(), doc, created: now, lastModified: now, version: 1 };
  kind.store.set(stored.id, stored);
  return stored;
}

function removeMemberships(ctx: Ctx, id: string): void {
  for (const g of ctx.groups.store.values()) {
    const members = g.doc.members as Doc[] | undefined;
    if (!members?.some((m) => m.value === id)) continue;
    const rest = members.filter((m) => m.value !== id);
    const doc = { ...g.doc };
    if (rest.length) doc.members = rest;
    else delete doc.members;
    ctx.groups.store.set(g.id, { ...g, doc, lastModified: new Date().toISOString(), version: g.version + 1 });
  }
}

async function handleResource(ctx: Ctx, kind: Kind, req: IncomingMessage, res: ServerResponse, url: URL, id: string | undefined, onCreate: (id: string) => void): Promise<void> {
  const method = req.method ?? 'GET';
  const location = (s: Stored) => `${ctx.origin}${SCIM_BASE_PATH}${kind.endpoint}/${s.id}`;
  if (id === undefined) {
    if (method === 'GET') {
      const filter = url.searchParams.get('filter');
      if (filter !== null && ctx.noFilter) throw fail.filter('This service provider does not support filtering (ServiceProviderConfig filter.supported is false)');
      const all = [...kind.store.values()].filter(filter ? parseListFilter(kind, filter) : () => true);
      // RFC 7644 §3.4.2.4: startIndex < 1 means 1; a negative count means 0.
      const startIndex = Math.max(1, pageParam(url.searchParams, 'startIndex', 1));
      const count = Math.min(MAX_RESULTS, Math.max(0, pageParam(url.searchParams, 'count', DEFAULT_COUNT)));
      const page = all.slice(startIndex - 1, startIndex - 1 + count);
      return send(res, 200, {
        schemas: [URN.ListResponse],
        totalResults: all.length,
        startIndex,
        itemsPerPage: page.length,
        Resources: page.map((s) => project(render(ctx, kind, s), url.searchParams)),
      });
    }
    if (method === 'POST') {
      const doc = validateResource(kind, await readJson(req));
      const stored = commit(ctx, kind, doc);
      onCreate(stored.id);
      return send(res, 201, render(ctx, kind, stored), { Location: location(stored), ETag: etagOf(stored) });
    }
    throw fail.plain(405, `${method} is not allowed on ${kind.endpoint}`);
  }

  const stored = kind.store.get(id);
  if (!stored) throw fail.notFound(`${kind.name} "${id}" not found`);
  switch (method) {
    case 'GET': {
      if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${stored.version}"`))
        return send(res, 304, undefined, { ETag: etagOf(stored) });
      return send(res, 200, project(render(ctx, kind, stored), url.searchParams), { ETag: etagOf(stored) });
    }
    case 'PUT': {
      checkIfMatch(req, stored);
      const doc = validateResource(kind, await readJson(req));
      const next = commit(ctx, kind, doc, stored);
      return send(res, 200, render(ctx, kind, next), { ETag: etagOf(next) });
    }
    case 'PATCH': {
      checkIfMatch(req, stored);
      const doc = applyPatch(kind, stored, await readJson(req));
      const next = commit(ctx, kind, doc, stored);
      return send(res, 200, render(ctx, kind, next), { ETag: etagOf(next) });
    }
    case 'DELETE': {
      checkIfMatch(req, stored);
      kind.store.delete(id);
      if (kind.name === 'User') removeMemberships(ctx, id);
      res.writeHead(204).end();
      return;
    }
    default:
      throw fail.plain(405, `${method} is not allowed on ${kind.endpoint}/{id}`);
  }
}

function schemaRepresentation(ctx: Ctx, s: SchemaDef): Doc {
  const strip = (d: AttrDef): Doc => {
    const { format: _format, subAttributes, ...rest } = d;
    return { ...rest, ...(subAttributes ? { subAttributes: subAttributes.map(strip) } : {}) };
  };
  return {
    schemas: [URN.Schema],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(strip),
    meta: { resourceType: 'Schema', location: `${ctx.origin}${SCIM_BASE_PATH}/Schemas/${s.id}` },
  };
}

function resourceTypeRepresentation(ctx: Ctx, kind: Kind): Doc {
  return {
    schemas: [URN.ResourceType],
    id: kind.name,
    name: kind.name,
    endpoint: kind.endpoint,
    schema: kind.core.id,
    schemaExtensions: kind.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${ctx.origin}${SCIM_BASE_PATH}/ResourceTypes/${kind.name}` },
  };
}

function listOf(items: Doc[]): Doc {
  return { schemas: [URN.ListResponse], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items };
}

function serviceProviderConfig(ctx: Ctx): Doc {
  return {
    schemas: [URN.ServiceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: !ctx.noFilter, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Static bearer token', specUri: 'https://www.rfc-editor.org/rfc/rfc6750', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${ctx.origin}${SCIM_BASE_PATH}/ServiceProviderConfig` },
  };
}

async function route(ctx: Ctx, req: IncomingMessage, res: ServerResponse, onCreate: (id: string) => void): Promise<void> {
  const url = new URL(req.url ?? '/', ctx.origin);
  if (!url.pathname.startsWith(`${SCIM_BASE_PATH}/`) && url.pathname !== SCIM_BASE_PATH) throw fail.notFound(`No endpoint at ${url.pathname}`);
  if (req.headers.authorization !== `Bearer ${ctx.token}`) throw fail.plain(401, 'Missing or wrong bearer token');
  const parts = url.pathname.slice(SCIM_BASE_PATH.length).split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const getOnly = () => {
    if (method !== 'GET') throw fail.plain(405, `${method} is not allowed on /${parts.join('/')}`);
  };
  const [head, id, ...more] = parts;
  if (more.length) throw fail.notFound(`No endpoint at ${url.pathname}`);
  switch (head) {
    case 'Users':
    case 'Groups':
      if (id === '.search') throw fail.plain(501, 'POST .search is not supported');
      return handleResource(ctx, head === 'Users' ? ctx.users : ctx.groups, req, res, url, id, onCreate);
    case 'ServiceProviderConfig':
      getOnly();
      if (id !== undefined) throw fail.notFound(`No endpoint at ${url.pathname}`);
      return send(res, 200, serviceProviderConfig(ctx));
    case 'Schemas': {
      getOnly();
      if (id === undefined) return send(res, 200, listOf(SCHEMAS.map((s) => schemaRepresentation(ctx, s))));
      const schema = SCHEMAS.find((s) => s.id === id);
      if (!schema) throw fail.notFound(`Schema "${id}" not found`);
      return send(res, 200, schemaRepresentation(ctx, schema));
    }
    case 'ResourceTypes': {
      getOnly();
      const kinds = [ctx.users, ctx.groups];
      if (id === undefined) return send(res, 200, listOf(kinds.map((k) => resourceTypeRepresentation(ctx, k))));
      const kind = kinds.find((k) => k.name === id);
      if (!kind) throw fail.notFound(`ResourceType "${id}" not found`);
      return send(res, 200, resourceTypeRepresentation(ctx, kind));
    }
    case 'Bulk':
    case '.search':
      throw fail.plain(501, `${head} is not supported`);
    default:
      throw fail.notFound(`No endpoint at ${url.pathname}`);
  }
}

/**
 * Starts a strict in-memory SCIM 2.0 service provider on node:http (127.0.0.1, base `/scim/v2`). It
 * rejects what RFC 7643/7644 forbid (bad `schemas`, unknown or readOnly attributes, wrong types, loose
 * emails, unsupported filters, case-folded PATCH ops, dangling group members) so sloppy clients fail loudly.
 * ETags are `W/"<version>"`; If-Match mismatches get 412.
 */
export async function startStrictApp(opts: DownstreamAppOptions & { noFilter?: boolean }): Promise<DownstreamApp> {
  const requests: RequestRecord[] = [];
  const ctx: Ctx = {
    origin: '',
    token: opts.token,
    noFilter: opts.noFilter,
    users: {
      name: 'User', endpoint: '/Users', core: SCHEMAS[0], extensions: [SCHEMAS[1]],
      filterable: ['userName', 'externalId', 'displayName', 'id'], store: new Map(),
    },
    groups: {
      name: 'Group', endpoint: '/Groups', core: SCHEMAS[2], extensions: [],
      filterable: ['displayName', 'externalId', 'id'], store: new Map(),
    },
  };
  const server = createServer((req, res) => {
    let createdId: string | undefined;
    recordRequest(req, res, requests, () => createdId);
    route(ctx, req, res, (id) => (createdId = id)).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof ScimHttpError) {
        // Drain what the client is still sending, so it reads our error rather than a reset.
        req.resume();
        return sendError(res, err, err.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
      }
      sendError(res, fail.plain(500, err instanceof Error ? err.message : String(err)));
    });
  });
  ctx.origin = await listenLocal(server, opts.port);
  const snapshot = (kind: Kind) => [...kind.store.values()].map((s) => render(ctx, kind, s));
  return {
    url: `${ctx.origin}${SCIM_BASE_PATH}`,
    close: () => closeServer(server),
    users: () => snapshot(ctx.users),
    groups: () => snapshot(ctx.groups),
    requests,
  };
}
