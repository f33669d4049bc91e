/**
 * Schema, attribute and resource-type definitions as RFC 7643 §7 and §6 describe them. These are
 * plain data: `/Schemas` and `/ResourceTypes` render them as they are, and the filter, PATCH and
 * projection code read their characteristics through the SchemaRegistry.
 */

/** RFC 7643 §2.3 data types. */
export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'binary'
  | 'reference'
  | 'complex';

/** RFC 7643 §7 "mutability". */
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';

/** RFC 7643 §7 "returned". */
export type Returned = 'always' | 'never' | 'default' | 'request';

/** RFC 7643 §7 "uniqueness". */
export type Uniqueness = 'none' | 'server' | 'global';

/** One attribute or sub-attribute, with every characteristic of RFC 7643 §7 spelled out. */
export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  /** false: compare case-insensitively (filters, uniqueness). */
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  /** Suggested values, e.g. `work`, `home`; RFC 7643 §2.4 lets us accept others. */
  readonly canonicalValues?: readonly string[];
  /** For `reference`: resource type names, `external` or `uri`. */
  readonly referenceTypes?: readonly string[];
  /** For `complex` only. RFC 7643 §2.3.8: a sub-attribute is never complex itself. */
  readonly subAttributes?: readonly AttributeDefinition[];
}

/** A schema (RFC 7643 §7): core, extension, or a company's own extension under its own URN. */
export interface SchemaDefinition {
  /** The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
}

/** An extension a resource type carries (RFC 7643 §6 "schemaExtensions"). */
export interface SchemaExtensionRef {
  readonly schema: string;
  readonly required: boolean;
}

/** A resource type (RFC 7643 §6). */
export interface ResourceTypeDefinition {
  readonly id: string;
  readonly name: string;
  /** Relative to the SCIM base URL, e.g. `/Users`. */
  readonly endpoint: string;
  readonly description: string;
  /** The core schema URN. */
  readonly schema: string;
  readonly schemaExtensions: readonly SchemaExtensionRef[];
}
