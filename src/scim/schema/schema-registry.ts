/**
 * The schema registry: which schemas a resource type has, and what an attribute path names.
 *
 * Our own code rather than a library's (research/scim-libraries.md §d): paths must resolve
 * case-insensitively (RFC 7644 §3.10), accept URN-qualified names whose URN itself contains `:`
 * and `.` (`…:enterprise:2.0:User:manager.value`), and take a company's own extension URN, per
 * registry instance rather than through a process-wide singleton.
 */
import { ScimError } from '../scim.error.js';
import { COMMON_ATTRIBUTES } from './common-attributes.schema.js';
import { CORE_RESOURCE_TYPES } from './core-resource-types.js';
import { USER_SCHEMA_DEFINITION } from './core-user.schema.js';
import { ENTERPRISE_USER_SCHEMA_DEFINITION } from './enterprise-user.schema.js';
import { GROUP_SCHEMA_DEFINITION } from './group.schema.js';
import type { AttributeDefinition, ResourceTypeDefinition, SchemaDefinition } from './schema.types.js';

/** The schemas every registry holds. */
export const CORE_SCHEMAS: readonly SchemaDefinition[] = [
  USER_SCHEMA_DEFINITION,
  ENTERPRISE_USER_SCHEMA_DEFINITION,
  GROUP_SCHEMA_DEFINITION,
];

/** Attaches an extension schema to a resource type without restating the resource type. */
export interface ExtensionBinding {
  readonly resourceType: string;
  readonly schema: string;
  readonly required?: boolean;
}

export interface SchemaRegistryOptions {
  /** Defaults to the core User (with the Enterprise extension) and Group. */
  readonly resourceTypes?: readonly ResourceTypeDefinition[];
  /** Schemas in addition to the core ones, e.g. `urn:acme:scim:schemas:1.0:User`. */
  readonly schemas?: readonly SchemaDefinition[];
  /** Extensions to add to resource types, e.g. `{ resourceType: 'User', schema: 'urn:acme:…' }`. */
  readonly extensions?: readonly ExtensionBinding[];
}

/** What an attribute path names. */
export interface ResolvedPath {
  /** The defining schema's URN in its own casing; the core URN for common attributes (`id`, `meta`). */
  readonly schemaUrn: string;
  /** True when the value lives under the resource's `schemaUrn` key (RFC 7643 §3.3), not at the top level. */
  readonly inExtension: boolean;
  /** True when the path is a bare extension URN; `attribute` is then a complex stand-in for the extension. */
  readonly wholeSchema: boolean;
  readonly attribute: AttributeDefinition;
  readonly subAttribute?: AttributeDefinition;
  /** The attribute the path ends at: `subAttribute ?? attribute`. */
  readonly definition: AttributeDefinition;
  /** `emails.value`, or `urn:…:enterprise:2.0:User:manager.value`, in the schema's own casing. */
  readonly canonicalPath: string;
}

/** Which SCIM error an unresolvable path becomes: PATCH wants invalidPath, filters invalidFilter. */
export type PathErrorKind = 'invalidPath' | 'invalidFilter';

interface IndexedSchema {
  readonly schema: SchemaDefinition;
  readonly lowerUrn: string;
  readonly isCore: boolean;
  /** Lower-cased name → attribute; the core schema's map also holds the common attributes. */
  readonly attributes: ReadonlyMap<string, AttributeDefinition>;
  /** The stand-in complex attribute a bare extension URN resolves to. */
  readonly asAttribute: AttributeDefinition;
}

interface IndexedResourceType {
  readonly definition: ResourceTypeDefinition;
  readonly core: IndexedSchema;
  /** Core first, then extensions; `byUrnLength` is the order URN prefixes are tried in. */
  readonly schemas: readonly IndexedSchema[];
  readonly byUrnLength: readonly IndexedSchema[];
}

const ATTRIBUTE_NAME = /^\$?[A-Za-z][A-Za-z0-9_-]*$/;

export class SchemaRegistry {
  private readonly schemaByUrn = new Map<string, SchemaDefinition>();
  private readonly types = new Map<string, IndexedResourceType>();

  /**
   * Throws a SchemaConfigError listing every problem of an inconsistent configuration: it is a
   * startup failure (`switchboard check-config` reports it), never a request error.
   */
  constructor(options: SchemaRegistryOptions = {}) {
    const problems: string[] = [];
    const extra = options.schemas ?? [];
    for (const schema of [...CORE_SCHEMAS, ...extra]) {
      const custom = extra.includes(schema);
      validateSchema(schema, custom, problems);
      const key = schema.id.toLowerCase();
      if (this.schemaByUrn.has(key)) {
        problems.push(`schema ${schema.id} is defined twice${custom && CORE_SCHEMAS.some(c => c.id.toLowerCase() === key) ? ' (it is a core schema)' : ''}`);
        continue;
      }
      this.schemaByUrn.set(key, schema);
    }
    checkUrnPrefixes([...this.schemaByUrn.values()], problems);
    const types = withExtensions(options.resourceTypes ?? CORE_RESOURCE_TYPES, options.extensions ?? [], problems);
    const typeNames = new Set(types.map(t => t.name.toLowerCase()));
    for (const schema of this.schemaByUrn.values()) checkReferenceTypes(schema.id, schema.attributes, typeNames, problems);
    for (const definition of types) {
      const key = definition.name.toLowerCase();
      if (this.types.has(key)) { problems.push(`resource type ${definition.name} is defined twice`); continue; }
      const indexed = this.indexResourceType(definition, problems);
      if (indexed) this.types.set(key, indexed);
    }
    if (problems.length) throw new SchemaConfigError(problems);
  }

  resourceTypes(): readonly ResourceTypeDefinition[] {
    return [...this.types.values()].map((t) => t.definition);
  }

  /** @throws ScimError 404 for an unknown resource type (the `/ResourceTypes/{id}` answer). */
  resourceType(name: string): ResourceTypeDefinition {
    return this.indexed(name).definition;
  }

  schemas(): readonly SchemaDefinition[] {
    return [...this.schemaByUrn.values()];
  }

  /** @throws ScimError 404 for an unknown URN (the `/Schemas/{id}` answer). */
  schema(urn: string): SchemaDefinition {
    const schema = this.schemaByUrn.get(urn.toLowerCase());
    if (!schema) throw ScimError.notFound(`Schema ${urn} not found`);
    return schema;
  }

  /** The core schema first, then the extensions in declared order. */
  schemasFor(resourceType: string): readonly SchemaDefinition[] {
    return this.indexed(resourceType).schemas.map((s) => s.schema);
  }

  /** The extension schemas of a resource type with their `required` flag (RFC 7643 §6 schemaExtensions), declared order. */
  extensionsFor(resourceType: string): ReadonlyArray<{ readonly schema: SchemaDefinition; readonly required: boolean }> {
    const type = this.indexed(resourceType);
    return type.schemas.slice(1).map((s) => ({
      schema: s.schema,
      required: type.definition.schemaExtensions.some((e) => e.schema.toLowerCase() === s.lowerUrn && e.required),
    }));
  }

  /** The URN of the extension of `resourceType` that `key` names (any letter case), in the schema's own casing. */
  extensionUrn(resourceType: string, key: string): string | undefined {
    const lower = key.toLowerCase();
    return this.indexed(resourceType).schemas.find((s) => !s.isCore && s.lowerUrn === lower)?.schema.id;
  }

  /** Every schema URN of a resource type (core first): the prefixes a path may start with. */
  schemaUrns(resourceType: string): readonly string[] {
    return this.indexed(resourceType).schemas.map((s) => s.schema.id);
  }

  /** RFC 7643 §3.1 attributes (`id`, `externalId`, `meta`), not part of any schema listing. */
  commonAttributes(): readonly AttributeDefinition[] {
    return COMMON_ATTRIBUTES;
  }

  /**
   * Resolves `userName`, `NAME.givenName`, `urn:…:core:2.0:User:userName`,
   * `urn:…:enterprise:2.0:User:manager.value` or a bare extension URN.
   * @throws ScimError (`errorKind`) when the path names nothing.
   */
  resolve(resourceType: string, path: string, errorKind: PathErrorKind = 'invalidPath'): ResolvedPath {
    const result = this.lookup(this.indexed(resourceType), path);
    if (typeof result === 'string') throw ScimError[errorKind](result);
    return result;
  }

  /** Like `resolve`, but undefined when the path names nothing. */
  tryResolve(resourceType: string, path: string): ResolvedPath | undefined {
    const result = this.lookup(this.indexed(resourceType), path);
    return typeof result === 'string' ? undefined : result;
  }

  private indexed(name: string): IndexedResourceType {
    const type = this.types.get(name.toLowerCase());
    if (!type) throw ScimError.notFound(`Resource type ${name} not found`);
    return type;
  }

  /** Returns the resolution, or the error detail. */
  private lookup(type: IndexedResourceType, path: string): ResolvedPath | string {
    const lower = path.toLowerCase();
    if (!lower.includes(':')) return resolveIn(type.core, path, path);
    // The URN holds ':' and '.', so match registered URNs (longest first) instead of splitting text.
    for (const indexed of type.byUrnLength) {
      if (lower === indexed.lowerUrn) {
        if (indexed.isCore) return `"${path}" names the core schema, not an attribute`;
        return {
          schemaUrn: indexed.schema.id,
          inExtension: true,
          wholeSchema: true,
          attribute: indexed.asAttribute,
          definition: indexed.asAttribute,
          canonicalPath: indexed.schema.id,
        };
      }
      if (lower.startsWith(indexed.lowerUrn) && lower[indexed.lowerUrn.length] === ':') {
        return resolveIn(indexed, path.slice(indexed.lowerUrn.length + 1), path);
      }
    }
    return `"${path}" does not start with a schema URN of resource type ${type.definition.name}`;
  }

  private indexResourceType(definition: ResourceTypeDefinition, problems: string[]): IndexedResourceType | undefined {
    const core = this.indexSchema(definition, definition.schema, true, problems);
    const extensions = definition.schemaExtensions.map((ext) => this.indexSchema(definition, ext.schema, false, problems));
    if (!core || extensions.some((e) => !e)) return undefined;
    const schemas = [core, ...(extensions as IndexedSchema[])];
    if (new Set(schemas.map((s) => s.lowerUrn)).size !== schemas.length) {
      problems.push(`resource type ${definition.name} lists a schema twice`);
      return undefined;
    }
    const byUrnLength = [...schemas].sort((a, b) => b.lowerUrn.length - a.lowerUrn.length);
    return { definition, core, schemas, byUrnLength };
  }

  private indexSchema(type: ResourceTypeDefinition, urn: string, isCore: boolean, problems: string[]): IndexedSchema | undefined {
    const schema = this.schemaByUrn.get(urn.toLowerCase());
    if (!schema) {
      problems.push(`resource type ${type.name} refers to unknown schema ${urn}`);
      return undefined;
    }
    const attributes = new Map<string, AttributeDefinition>();
    for (const attr of isCore ? [...COMMON_ATTRIBUTES, ...schema.attributes] : schema.attributes) {
      const key = attr.name.toLowerCase();
      if (attributes.has(key)) problems.push(`schema ${schema.id} redefines attribute ${attr.name}`);
      attributes.set(key, attr);
    }
    const asAttribute: AttributeDefinition = {
      name: schema.id,
      type: 'complex',
      multiValued: false,
      description: schema.description,
      required: type.schemaExtensions.some((e) => e.schema.toLowerCase() === schema.id.toLowerCase() && e.required),
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
      subAttributes: schema.attributes,
    };
    return { schema, lowerUrn: schema.id.toLowerCase(), isCore, attributes, asAttribute };
  }
}

/** Resolves `attr` or `attr.sub` inside one schema; `original` is the whole path, for messages. */
function resolveIn(indexed: IndexedSchema, rest: string, original: string): ResolvedPath | string {
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => p === '') || rest.includes(':')) {
    return `"${original}" is not a valid attribute path`;
  }
  const [attrName, subName] = parts as [string, string | undefined];
  const attribute = indexed.attributes.get(attrName.toLowerCase());
  if (!attribute) return `Unknown attribute "${attrName}" in "${original}"`;
  let subAttribute: AttributeDefinition | undefined;
  if (subName !== undefined) {
    if (attribute.type !== 'complex') return `Attribute "${attribute.name}" has no sub-attributes ("${original}")`;
    const lowerSub = subName.toLowerCase();
    subAttribute = attribute.subAttributes?.find((s) => s.name.toLowerCase() === lowerSub);
    if (!subAttribute) return `Unknown sub-attribute "${subName}" of "${attribute.name}" in "${original}"`;
  }
  const local = subAttribute ? `${attribute.name}.${subAttribute.name}` : attribute.name;
  return {
    schemaUrn: indexed.schema.id,
    inExtension: !indexed.isCore,
    wholeSchema: false,
    attribute,
    ...(subAttribute ? { subAttribute } : {}),
    definition: subAttribute ?? attribute,
    canonicalPath: indexed.isCore ? local : `${indexed.schema.id}:${local}`,
  };
}

function withExtensions(
  types: readonly ResourceTypeDefinition[],
  bindings: readonly ExtensionBinding[],
  problems: string[],
): ResourceTypeDefinition[] {
  for (const binding of bindings) {
    if (!types.some((t) => t.name.toLowerCase() === binding.resourceType.toLowerCase())) {
      problems.push(`extension ${binding.schema} is bound to unknown resource type ${binding.resourceType}`);
    }
  }
  return types.map((type) => {
    const added = bindings
      .filter((b) => b.resourceType.toLowerCase() === type.name.toLowerCase())
      .map((b) => ({ schema: b.schema, required: b.required ?? false }));
    return added.length === 0 ? type : { ...type, schemaExtensions: [...type.schemaExtensions, ...added] };
  });
}

/**
 * A schema URN as paths and filters can carry it (RFC 8141 `urn:<NID>:<NSS>`, restricted to the
 * characters an attribute path may hold: letters, digits, `.`, `_`, `-`, `:` between segments).
 */
const SCHEMA_URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}(?::[A-Za-z0-9._-]+)+$/i;
/** Namespaces whose URNs RFC 7643 / RFC 7644 define; a configured extension may not take them. */
const RESERVED_NAMESPACES = ['urn:ietf:params:scim:schemas:core:', 'urn:ietf:params:scim:api:'];
const TYPES: ReadonlySet<string> = new Set(['string', 'boolean', 'decimal', 'integer', 'dateTime', 'binary', 'reference', 'complex']);
const MUTABILITIES: ReadonlySet<string> = new Set(['readOnly', 'readWrite', 'immutable', 'writeOnly']);
const RETURNED: ReadonlySet<string> = new Set(['always', 'never', 'default', 'request']);
const UNIQUENESS: ReadonlySet<string> = new Set(['none', 'server', 'global']);

/** Checks what resolution, validation and indexing rely on; `custom` schemas come from switchboard.yaml. */
function validateSchema(schema: SchemaDefinition, custom: boolean, problems: string[]): void {
  if (typeof schema.id !== 'string' || !SCHEMA_URN.test(schema.id)) {
    problems.push(`schema id "${schema.id}" is not a URN of the form urn:<namespace>:<segment>[:<segment>…] (letters, digits, ".", "_", "-")`);
    return;
  }
  if (custom && RESERVED_NAMESPACES.some((ns) => schema.id.toLowerCase().startsWith(ns))) {
    problems.push(`schema id "${schema.id}" is in a namespace RFC 7643/7644 reserve (${RESERVED_NAMESPACES.join(', ')}); use your own, e.g. urn:acme:scim:schemas:1.0:User`);
  }
  validateAttributes(schema.id, schema.attributes, false, custom, problems);
}

function validateAttributes(where: string, attributes: readonly AttributeDefinition[], nested: boolean, custom: boolean, problems: string[]): void {
  const seen = new Set<string>();
  for (const attr of attributes) {
    const at = `${where}:${attr.name}`;
    if (typeof attr.name !== 'string' || !ATTRIBUTE_NAME.test(attr.name)) {
      problems.push(`attribute name "${at}" is not valid (RFC 7643 §2.1: a letter, then letters, digits, "_" or "-")`);
      continue;
    }
    if (seen.has(attr.name.toLowerCase())) problems.push(`attribute ${at} is defined twice (names are case-insensitive)`);
    seen.add(attr.name.toLowerCase());
    if (!TYPES.has(attr.type)) problems.push(`attribute ${at} has unknown type "${attr.type}" (one of ${[...TYPES].join(', ')})`);
    if (!MUTABILITIES.has(attr.mutability)) problems.push(`attribute ${at} has unknown mutability "${attr.mutability}"`);
    if (!RETURNED.has(attr.returned)) problems.push(`attribute ${at} has unknown returned "${attr.returned}"`);
    if (!UNIQUENESS.has(attr.uniqueness)) problems.push(`attribute ${at} has unknown uniqueness "${attr.uniqueness}"`);
    if (attr.mutability === 'writeOnly' && attr.returned !== 'never') problems.push(`attribute ${at} is writeOnly, so returned must be never (RFC 7643 §7)`);
    // Only userName / displayName uniqueness is enforced by the store; advertising more would be a lie.
    if (custom && attr.uniqueness !== 'none') problems.push(`attribute ${at}: uniqueness "${attr.uniqueness}" is not enforced for extension attributes; declare none`);
    if (attr.canonicalValues !== undefined && (!Array.isArray(attr.canonicalValues) || attr.canonicalValues.some((v) => typeof v !== 'string'))) {
      problems.push(`attribute ${at}: canonicalValues must be a list of strings`);
    }
    if (attr.referenceTypes !== undefined && attr.type !== 'reference') problems.push(`attribute ${at} of type ${attr.type} has referenceTypes (only reference attributes may)`);
    if (attr.type === 'reference' && !attr.referenceTypes?.length) problems.push(`reference attribute ${at} needs referenceTypes (resource type names, external or uri)`);
    if (attr.type === 'complex') {
      if (nested) problems.push(`sub-attribute ${at} is complex (RFC 7643 §2.3.8 forbids it)`);
      else if (!attr.subAttributes?.length) problems.push(`complex attribute ${at} has no sub-attributes`);
      else validateAttributes(at, attr.subAttributes, true, custom, problems);
    } else if (attr.subAttributes?.length) {
      problems.push(`attribute ${at} of type ${attr.type} has sub-attributes`);
    }
    if (nested && custom && attr.multiValued) problems.push(`sub-attribute ${at} is multi-valued (not supported: use a multi-valued complex attribute)`);
  }
}

/** `referenceTypes` name resource types, `external` or `uri` (RFC 7643 §7). */
function checkReferenceTypes(where: string, attributes: readonly AttributeDefinition[], typeNames: ReadonlySet<string>, problems: string[]): void {
  for (const attr of attributes) {
    for (const ref of attr.referenceTypes ?? []) {
      if (typeof ref !== 'string' || (!typeNames.has(ref.toLowerCase()) && ref !== 'external' && ref !== 'uri')) {
        problems.push(`attribute ${where}:${attr.name}: referenceType "${ref}" is not a resource type, external or uri`);
      }
    }
    if (attr.subAttributes) checkReferenceTypes(`${where}:${attr.name}`, attr.subAttributes, typeNames, problems);
  }
}

/**
 * No schema URN may start with another one followed by ':' (`urn:acme:ext` and `urn:acme:ext:v2`):
 * `urn:acme:ext:v2` would then name both a schema and an attribute `v2` of `urn:acme:ext`.
 */
function checkUrnPrefixes(schemas: readonly SchemaDefinition[], problems: string[]): void {
  for (const a of schemas) {
    for (const b of schemas) {
      if (a !== b && b.id.toLowerCase().startsWith(`${a.id.toLowerCase()}:`)) {
        problems.push(`schema id ${b.id} starts with schema id ${a.id}: paths under it would be ambiguous`);
      }
    }
  }
}

/** Every problem of an inconsistent schema configuration, in one error (a startup failure). */
export class SchemaConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid SCIM schema configuration: ${problems.join('; ')}`);
    this.name = 'SchemaConfigError';
  }
}
