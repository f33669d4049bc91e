/**
 * The schema-driven bridge between the attribute index (`resource_attr`, written by
 * src/identity/attr-index.ts) and the SQL filter compiler (filter-sql.ts). Both sides take their
 * characteristics from the SchemaRegistry, never from a hard-coded list, and normalise through the
 * evaluator's own `normaliseForCompare`, so the database answers every filter exactly as
 * `evaluateFilter` does:
 *
 * - strings, references, binaries: NFC, case-folded unless the attribute is caseExact;
 * - dateTime: the UTC instant (`normaliseDateTime`), so offsets compare as instants;
 * - booleans: 'true' / 'false';
 * - integer / decimal: a fixed-width sortable hex encoding of the IEEE-754 double
 *   (`encodeNumber`), so `gt`/`lt` and sorting compare numerically with a plain byte-wise string
 *   comparison on SQLite and on PostgreSQL (`COLLATE "C"`), without another column.
 *
 * A value that does not fit its (non-string) type is indexed as `INVALID_VALUE`: present for `pr`,
 * never equal to nor ordered against a literal, as in the evaluator. Values of attributes no
 * schema defines, and `returned: never` attributes (password), are not indexed: no filter can
 * name the former, and the latter is never visible to a client.
 */
import type { AttrNormaliser } from '../../identity/attr-index.js';
import type { AttrPath } from '../filter/filter.ast.js';
import { normaliseForCompare, type ComparableValue } from '../filter/normalise.util.js';
import type { ResolvedPath, SchemaRegistry } from '../schema/schema-registry.js';
import type { AttributeDefinition } from '../schema/schema.types.js';

/** Stored for a value that does not fit its non-string type (no valid dateTime, number or boolean encodes to it). */
export const INVALID_VALUE = '!';

/**
 * IEEE-754 double → 16 lower-case hex digits whose byte-wise order is numeric order
 * (sign bit flipped for positives, every bit flipped for negatives; -0 is 0).
 */
export function encodeNumber(n: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, n === 0 ? 0 : n);
  let hi = view.getUint32(0);
  let lo = view.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Inverse of `encodeNumber` (for tests and diagnostics). */
export function decodeNumber(hex: string): number {
  let hi = parseInt(hex.slice(0, 8), 16) >>> 0;
  let lo = parseInt(hex.slice(8, 16), 16) >>> 0;
  if (hi & 0x80000000) {
    hi = (hi & 0x7fffffff) >>> 0;
  } else {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return view.getFloat64(0);
}

/** The stored text of a comparable value of `definition`'s type. */
export function encodeComparable(definition: AttributeDefinition, value: ComparableValue): string {
  if (definition.type === 'integer' || definition.type === 'decimal') return encodeNumber(value as number);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/**
 * The index text of one raw value of `definition` (a simple type): the encoded comparable value,
 * `INVALID_VALUE` when it does not fit a non-string type.
 */
export function indexValue(definition: AttributeDefinition, raw: unknown): string {
  const normalised = normaliseForCompare(definition, raw);
  return normalised === undefined ? INVALID_VALUE : encodeComparable(definition, normalised);
}

/** What a filter or sort path names in `resource_attr`. */
export interface IndexTarget {
  readonly resolved: ResolvedPath;
  /** The simple attribute whose values are compared (a complex attribute's `value` when no sub-attribute is named). */
  readonly definition: AttributeDefinition;
  /** `resource_attr.path` of the compared values, e.g. `emails.value`, `urn:…:user:manager.value`. */
  readonly key: string;
  /**
   * For `pr` / `eq null`: the exact path (simple attributes), or a prefix ending in '.' or ':'
   * (complex attributes and whole extensions: present when any sub-value is).
   */
  readonly presence: { readonly key: string; readonly prefix: boolean };
  /** The `resource_attr.path` of the complex attribute itself (its element marker rows), for valuePaths. */
  readonly container?: string;
  /** True when values live in elements of a multi-valued attribute (`element` is not null). */
  readonly multiValued: boolean;
  /** The `primary` sub-attribute's path in the same element, when there is one (sorting, RFC 7644 §3.4.2.3). */
  readonly primaryKey?: string;
}

/** Per resource type: index normaliser, path keys and literal normalisation, all from the registry. */
export class IndexSchema {
  private readonly byKey = new Map<string, AttributeDefinition>();

  constructor(private readonly registry: SchemaRegistry, readonly resourceType: string) {
    const [core, ...extensions] = registry.schemasFor(resourceType);
    this.add('', [...registry.commonAttributes(), ...core!.attributes]);
    for (const ext of extensions) this.add(`${ext.id.toLowerCase()}:`, ext.attributes);
  }

  private add(prefix: string, attributes: readonly AttributeDefinition[]): void {
    for (const attr of attributes) {
      const key = `${prefix}${attr.name.toLowerCase()}`;
      this.byKey.set(key, attr);
      for (const sub of attr.subAttributes ?? []) this.byKey.set(`${key}.${sub.name.toLowerCase()}`, sub);
    }
  }

  /** The definition indexed at `resource_attr.path` `key`, if a schema defines one. */
  definitionAt(key: string): AttributeDefinition | undefined {
    return this.byKey.get(key);
  }

  /** The write-time normaliser (`ResourceService.writeIndex`) for this resource type. */
  readonly normalise: AttrNormaliser = (path, value) => {
    const definition = this.byKey.get(path);
    if (!definition || definition.type === 'complex' || definition.returned === 'never') return undefined;
    return indexValue(definition, value);
  };

  /** Resolves a filter path (or, with `parent`, a bare sub-attribute inside `parent[…]`). */
  target(path: AttrPath, parent?: ResolvedPath): IndexTarget {
    const text = parent ? `${parent.canonicalPath}.${path.attr}` : formatPath(path);
    return this.targetOf(this.registry.resolve(this.resourceType, text, 'invalidFilter'));
  }

  /** The index target of a resolved path. */
  targetOf(resolved: ResolvedPath): IndexTarget {
    const base = resolved.inExtension ? `${resolved.schemaUrn.toLowerCase()}:` : '';
    if (resolved.wholeSchema) {
      return { resolved, definition: resolved.attribute, key: base, presence: { key: base, prefix: true }, multiValued: false };
    }
    const attrKey = `${base}${resolved.attribute.name.toLowerCase()}`;
    const multiValued = resolved.attribute.multiValued;
    const primary = resolved.attribute.type === 'complex' && multiValued
      ? resolved.attribute.subAttributes?.find((s) => s.name === 'primary' && s.type === 'boolean')
      : undefined;
    const common = {
      resolved,
      multiValued,
      ...(resolved.attribute.type === 'complex' ? { container: attrKey } : {}),
      ...(primary ? { primaryKey: `${attrKey}.primary` } : {}),
    };
    if (resolved.subAttribute) {
      const key = `${attrKey}.${resolved.subAttribute.name.toLowerCase()}`;
      return { ...common, definition: resolved.subAttribute, key, presence: { key, prefix: false } };
    }
    if (resolved.attribute.type === 'complex') {
      const value = resolved.attribute.subAttributes?.find((s) => s.name === 'value');
      return {
        ...common,
        definition: value ?? resolved.attribute,
        key: `${attrKey}.value`,
        presence: { key: `${attrKey}.`, prefix: true },
      };
    }
    return { ...common, definition: resolved.attribute, key: attrKey, presence: { key: attrKey, prefix: false } };
  }

  /** A filter literal as the index stores it; undefined when it does not fit (the evaluator rejects those first). */
  literal(definition: AttributeDefinition, value: string | number | boolean): string | undefined {
    const normalised = normaliseForCompare(definition, value);
    return normalised === undefined ? undefined : encodeComparable(definition, normalised);
  }
}

function formatPath(path: AttrPath): string {
  const local = path.sub === undefined ? path.attr : `${path.attr}.${path.sub}`;
  return path.uri === undefined ? local : `${path.uri}:${local}`;
}

/** One IndexSchema per resource type of a registry, built on first use. */
export class IndexSchemas {
  private readonly cache = new Map<string, IndexSchema>();

  constructor(readonly registry: SchemaRegistry) {}

  for(resourceType: string): IndexSchema {
    const key = resourceType.toLowerCase();
    let schema = this.cache.get(key);
    if (!schema) {
      schema = new IndexSchema(this.registry, resourceType);
      this.cache.set(key, schema);
    }
    return schema;
  }

  /** The write-time normaliser for all resource types (ResourceService.setNormaliser). */
  readonly normaliser: AttrNormaliser = (path, value, resourceType) =>
    resourceType === undefined ? undefined : this.for(resourceType).normalise(path, value);
}
