import { getCI, isObject, keyCI } from '../common/json.util.js';
import type { Json } from '../common/json.util.js';
import { formatAttrPath, type CompareFilter, type Filter } from '../scim/filter/filter.ast.js';
import { compileFilter } from '../scim/filter/filter.evaluator.js';
import { parsePatchPath } from '../scim/filter/filter.parser.js';
import type { ResolvedPath, SchemaRegistry } from '../scim/schema/schema-registry.js';
import type { AttributeDefinition } from '../scim/schema/schema.types.js';
import { GROUP_SCHEMA, ResourceTypeName, USER_SCHEMA } from '../scim/scim.constants.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';

/**
 * A compiled mapping path (RFC 7644 §3.10 / §3.5.2 path syntax): `attr`, `attr.sub`, `urn:…:attr[.sub]`,
 * `attr[filter]`, `attr[filter].sub`. Names are in the schema's casing when the SchemaRegistry knows them.
 */
export interface MappingPath {
  /** As configured, for messages. */
  readonly text: string;
  /** The extension schema URN; undefined for core attributes (the core URN prefix is dropped). */
  readonly urn?: string;
  readonly attr: string;
  readonly sub?: string;
  /** The valuePath filter selecting elements of a multi-valued `attr`. */
  readonly filter?: Filter;
  /** Schema knowledge, when the registry resolves the path. */
  readonly attribute?: AttributeDefinition;
  /** Lower-cased key the diff uses for intent: `name.givenname`, `emails`, `urn:…:user:department`. */
  readonly intentKey: string;
}

/** A compiled source path: read it from a canonical document. */
export interface SourcePath extends MappingPath {
  read(doc: Json): unknown;
}

/** A compiled target path: write or remove it in an outbound payload. */
export interface TargetPath extends MappingPath {
  write(payload: Json, value: unknown): void;
  remove(payload: Json): void;
}

/** Attributes a mapping may not write: Switchboard owns them. */
const RESERVED_TARGETS = new Set(['schemas', 'id', 'meta', 'groups', 'members']);

/**
 * Parses a path with the SCIM filter parser and splits URN from attribute with the SchemaRegistry
 * (any registered extension, longest URN first); a URN the registry does not know (a target-only
 * extension) splits at its last ':'. A source naming an unknown attribute of a KNOWN schema is an
 * error (a typo: the canonical store holds nothing there). A target is the target's business: its
 * `/Schemas` is checked at start (target-schema-check.ts), so an unknown target attribute passes here.
 */
function parse(text: string, registry: SchemaRegistry, type: ResourceTypeName, role: 'source' | 'target'): MappingPath {
  let parsed;
  try {
    parsed = parsePatchPath(text.trim(), { allowBareWords: false });
  } catch (e) {
    throw new MappingError(MappingErrorCode.InvalidPath, text, (e as Error).message);
  }
  const raw = parsed.attrPath;
  const attrText = formatAttrPath({ uri: raw.uri, attr: raw.attr });
  const full = raw.sub === undefined ? attrText : `${attrText}.${raw.sub}`;
  const coreOrBare = raw.uri === undefined || raw.uri.toLowerCase() === coreUrn(type).toLowerCase();
  if (role === 'target' && coreOrBare && RESERVED_TARGETS.has(raw.attr.toLowerCase())) {
    throw new MappingError(MappingErrorCode.ReservedTarget, text);
  }
  const known = knownSchemaOf(registry, type, full);
  let urn = raw.uri;
  let attr = raw.attr;
  let sub = raw.sub ?? parsed.subAttr;
  if (parsed.subAttr !== undefined && raw.sub !== undefined) throw new MappingError(MappingErrorCode.InvalidPath, text, 'two sub-attributes');
  let attribute: AttributeDefinition | undefined;
  const resolved: ResolvedPath | undefined = known ? registry.tryResolve(type, sub === undefined ? attrText : `${attrText}.${sub}`) : undefined;
  if (known && (!resolved || resolved.wholeSchema) && role === 'source') {
    // A URN path already names its schema; a bare one gets it added (core User or Group).
    throw new MappingError(MappingErrorCode.UnknownAttribute, text.trim(), text.trim().toLowerCase().startsWith('urn:') ? undefined : known);
  }
  if (resolved && !resolved.wholeSchema) {
    urn = resolved.inExtension ? resolved.schemaUrn : undefined;
    attr = resolved.attribute.name;
    sub = resolved.subAttribute?.name ?? sub;
    attribute = resolved.attribute;
  } else if (urn !== undefined && urn.toLowerCase() === coreUrn(type).toLowerCase()) {
    urn = undefined;
  }
  if (role === 'source' && urn === undefined && attr.toLowerCase() === 'password') {
    // Stored hashed (prepareWrite); RFC 7643 §4.1.1 makes it writeOnly: there is nothing to send.
    throw new MappingError(MappingErrorCode.InvalidPath, text, 'password is write-only and stored hashed, it cannot be a source');
  }
  const intentKey = (urn === undefined ? '' : `${urn}:`).toLowerCase()
    + (parsed.valueFilter || attribute?.multiValued ? attr.toLowerCase() : [attr, sub].filter(Boolean).join('.').toLowerCase());
  return { text, urn, attr, sub, filter: parsed.valueFilter, attribute, intentKey };
}

/** The registered schema a path belongs to, or undefined for a URN the registry does not know. */
function knownSchemaOf(registry: SchemaRegistry, type: ResourceTypeName, path: string): string | undefined {
  const lower = path.toLowerCase();
  if (!lower.startsWith('urn:')) return coreUrn(type);
  const schema = registry.schemasFor(type).map(s => s.id).sort((a, b) => b.length - a.length)
    .find(id => lower.startsWith(`${id.toLowerCase()}:`));
  return schema;
}

function coreUrn(type: ResourceTypeName): string {
  return type === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
}

/** Compiles a canonical source path. @throws MappingError */
export function compileSourcePath(text: string, registry: SchemaRegistry, type: ResourceTypeName): SourcePath {
  const path = parse(text, registry, type, 'source');
  let select: ((el: unknown) => boolean) | undefined;
  if (path.filter) {
    if (path.attribute) {
      // The provider's own evaluator decides which element matches: caseExact, dateTimes, all operators.
      let predicate: (r: Json) => boolean;
      try {
        predicate = compileFilter({ kind: 'valuePath', path: { uri: path.urn, attr: path.attr }, filter: path.filter }, registry, type);
      } catch (e) {
        throw new MappingError(MappingErrorCode.InvalidPath, text, (e as Error).message);
      }
      select = el => predicate(wrap(path, el));
    } else {
      select = eqMatcher(path, text);
    }
  }
  return {
    ...path,
    read(doc: Json): unknown {
      const container = path.urn === undefined ? doc : getCI(doc, path.urn);
      if (!isObject(container)) return undefined;
      const value = getCI(container, path.attr);
      if (select) {
        if (!Array.isArray(value)) return undefined;
        const match = value.find(select);
        return match === undefined || path.sub === undefined ? match : isObject(match) ? getCI(match, path.sub) : undefined;
      }
      if (path.sub === undefined) return value;
      if (Array.isArray(value)) {
        // `emails.value` names the sub-attribute of every value (RFC 7644 §3.10).
        const subs = value.map(el => (isObject(el) ? getCI(el, path.sub!) : undefined)).filter(v => v !== null && v !== undefined);
        return subs.length ? subs : undefined;
      }
      return isObject(value) ? getCI(value, path.sub) : undefined;
    },
  };
}

/** Compiles a target path. Its valuePath filter must be `eq` comparisons (joined by `and`): they say what a new element holds. @throws MappingError */
export function compileTargetPath(text: string, registry: SchemaRegistry, type: ResourceTypeName): TargetPath {
  const path = parse(text, registry, type, 'target');
  if (!path.filter && path.sub !== undefined && path.attribute?.multiValued) {
    throw new MappingError(MappingErrorCode.UnsupportedTarget, text);
  }
  const matches = path.filter ? eqMatcher(path, text) : undefined;
  const seed = path.filter ? eqPairs(path.filter, text) : [];
  return {
    ...path,
    write(payload: Json, value: unknown): void {
      const container = path.urn === undefined ? payload : childObject(payload, path.urn);
      const key = keyCI(container, path.attr) ?? path.attr;
      if (matches) {
        const list = Array.isArray(container[key]) ? (container[key] as unknown[]) : [];
        container[key] = list;
        let targets = list.filter((el): el is Json => matches(el));
        if (!targets.length) {
          const created: Json = Object.fromEntries(seed);
          list.push(created);
          targets = [created];
        }
        for (const el of targets) {
          if (path.sub !== undefined) el[keyCI(el, path.sub) ?? path.sub] = value;
          else if (isObject(value)) Object.assign(el, value, Object.fromEntries(seed));
          else throw new MappingError(MappingErrorCode.UnsupportedTarget, text, 'a valuePath without a sub-attribute needs an object value');
        }
        return;
      }
      if (path.sub === undefined) {
        container[key] = value;
        return;
      }
      if (Array.isArray(container[key])) throw new MappingError(MappingErrorCode.UnsupportedTarget, text);
      const complex = childObject(container, key);
      complex[keyCI(complex, path.sub) ?? path.sub] = value;
    },
    remove(payload: Json): void {
      const container = path.urn === undefined ? payload : getCI(payload, path.urn);
      if (!isObject(container)) return;
      const key = keyCI(container, path.attr);
      if (key === undefined) return;
      if (matches) {
        const list = container[key];
        if (!Array.isArray(list)) return;
        const filterKeys = new Set(seed.map(([k]) => k.toLowerCase()));
        container[key] = list.filter(el => {
          if (!matches(el)) return true;
          if (path.sub === undefined) return false;
          const sub = keyCI(el as Json, path.sub);
          if (sub !== undefined) delete (el as Json)[sub];
          // Without `value` (RFC 7643 §2.4) or with only the filter attributes left, the element means nothing.
          const left = Object.keys(el as Json).map(k => k.toLowerCase());
          return path.sub.toLowerCase() !== 'value' && left.some(k => !filterKeys.has(k));
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
    },
  };
}

/** `{ emails: [el] }` or `{ urn: { attr: [el] } }`: one element as a resource, for the provider's evaluator. */
function wrap(path: MappingPath, el: unknown): Json {
  const inner = { [path.attr]: [el] };
  return path.urn === undefined ? inner : { [path.urn]: inner };
}

/** The `[sub, literal]` pairs of an `eq`-only valuePath filter. @throws MappingError for anything else. */
function eqPairs(filter: Filter, text: string): Array<[string, unknown]> {
  if (filter.kind === 'and') return [...eqPairs(filter.left, text), ...eqPairs(filter.right, text)];
  if (filter.kind === 'compare' && filter.op === 'eq' && filter.path.uri === undefined && filter.path.sub === undefined && filter.value !== null) {
    return [[(filter as CompareFilter).path.attr, filter.value]];
  }
  throw new MappingError(MappingErrorCode.UnsupportedTarget, text, 'a target valuePath filter may only join `sub eq "literal"` with `and`');
}

/** Element matcher for `eq` filters: strings compare ignoring case (caseExact is false for type/primary/value of the core multi-valued attributes). */
function eqMatcher(path: MappingPath, text: string): (el: unknown) => boolean {
  const pairs = eqPairs(path.filter!, text);
  return el => isObject(el) && pairs.every(([k, v]) => {
    const actual = getCI(el, k);
    if (typeof actual === 'string' && typeof v === 'string') return actual.toLowerCase() === v.toLowerCase();
    return actual === v;
  });
}

function childObject(parent: Json, name: string): Json {
  const key = keyCI(parent, name) ?? name;
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as Json;
}
