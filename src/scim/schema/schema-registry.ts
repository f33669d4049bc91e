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

  /** Throws a plain Error on an inconsistent configuration: it is a startup failure, not a request error. */
  constructor(options: SchemaRegistryOptions = {}) {
    for (const schema of [...CORE_SCHEMAS, ...(options.schemas ?? [])]) {
      validateSchema(schema);
      const key = schema.id.toLowerCase();
      if (this.schemaByUrn.has(key)) throw configError(`schema ${schema.id} is defined twice`);
      this.schemaByUrn.set(key, schema);
    }
    for (const definition of withExtensions(options.resourceTypes ?? CORE_RESOURCE_TYPES, options.extensions ?? [])) {
      const key = definition.name.toLowerCase();
      if (this.types.has(key)) throw configError(`resource type ${definition.name} is defined twice`);
      this.types.set(key, this.indexResourceType(definition));
    }
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

  private indexResourceType(definition: ResourceTypeDefinition): IndexedResourceType {
    const core = this.indexSchema(definition, definition.schema, true);
    const extensions = definition.schemaExtensions.map((ext) => this.indexSchema(definition, ext.schema, false));
    const schemas = [core, ...extensions];
    if (new Set(schemas.map((s) => s.lowerUrn)).size !== schemas.length) {
      throw configError(`resource type ${definition.name} lists a schema twice`);
    }
    const byUrnLength = [...schemas].sort((a, b) => b.lowerUrn.length - a.lowerUrn.length);
    return { definition, core, schemas, byUrnLength };
  }

  private indexSchema(type: ResourceTypeDefinition, urn: string, isCore: boolean): IndexedSchema {
    const schema = this.schemaByUrn.get(urn.toLowerCase());
    if (!schema) throw configError(`resource type ${type.name} refers to unknown schema ${urn}`);
    const attributes = new Map<string, AttributeDefinition>();
    for (const attr of isCore ? [...COMMON_ATTRIBUTES, ...schema.attributes] : schema.attributes) {
      const key = attr.name.toLowerCase();
      if (attributes.has(key)) throw configError(`schema ${schema.id} redefines attribute ${attr.name}`);
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
): ResourceTypeDefinition[] {
  for (const binding of bindings) {
    if (!types.some((t) => t.name.toLowerCase() === binding.resourceType.toLowerCase())) {
      throw configError(`extension ${binding.schema} is bound to unknown resource type ${binding.resourceType}`);
    }
  }
  return types.map((type) => {
    const added = bindings
      .filter((b) => b.resourceType.toLowerCase() === type.name.toLowerCase())
      .map((b) => ({ schema: b.schema, required: b.required ?? false }));
    return added.length === 0 ? type : { ...type, schemaExtensions: [...type.schemaExtensions, ...added] };
  });
}

/** Checks what resolution relies on: a URN id, ABNF attribute names, complex-only sub-attributes. */
function validateSchema(schema: SchemaDefinition): void {
  if (!/^urn:[^\s]*[^:\s]$/i.test(schema.id)) throw configError(`schema id "${schema.id}" is not a URN`);
  validateAttributes(schema.id, schema.attributes, false);
}

function validateAttributes(where: string, attributes: readonly AttributeDefinition[], nested: boolean): void {
  const seen = new Set<string>();
  for (const attr of attributes) {
    const at = `${where}:${attr.name}`;
    if (!ATTRIBUTE_NAME.test(attr.name)) throw configError(`attribute name "${at}" is not valid (RFC 7643 §2.1)`);
    if (seen.has(attr.name.toLowerCase())) throw configError(`attribute ${at} is defined twice`);
    seen.add(attr.name.toLowerCase());
    if (attr.type === 'complex') {
      if (nested) throw configError(`sub-attribute ${at} is complex (RFC 7643 §2.3.8 forbids it)`);
      if (!attr.subAttributes?.length) throw configError(`complex attribute ${at} has no sub-attributes`);
      validateAttributes(at, attr.subAttributes, true);
    } else if (attr.subAttributes?.length) {
      throw configError(`attribute ${at} of type ${attr.type} has sub-attributes`);
    }
  }
}

function configError(detail: string): Error {
  return new Error(`Invalid SCIM schema configuration: ${detail}`);
}
