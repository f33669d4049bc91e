import type { AttributeDefinition, AttributeType } from './schema.types.js';

/** The characteristics an attribute definition may override; `name` and `type` are positional. */
export type AttributeOptions = Partial<Omit<AttributeDefinition, 'name' | 'type' | 'description'>>;

/**
 * Builds a complete attribute definition, filling in the RFC 7643 §2.2 defaults (not required,
 * caseExact false, readWrite, returned default, uniqueness none, single-valued) so the schema
 * files list only what differs from them, as RFC 7643 §8.7.1 reads.
 */
export function attribute(
  name: string,
  type: AttributeType,
  description: string,
  options: AttributeOptions = {},
): AttributeDefinition {
  return {
    name,
    type,
    multiValued: options.multiValued ?? false,
    description,
    required: options.required ?? false,
    caseExact: options.caseExact ?? false,
    mutability: options.mutability ?? 'readWrite',
    returned: options.returned ?? 'default',
    uniqueness: options.uniqueness ?? 'none',
    ...(options.canonicalValues ? { canonicalValues: options.canonicalValues } : {}),
    ...(options.referenceTypes ? { referenceTypes: options.referenceTypes } : {}),
    ...(options.subAttributes ? { subAttributes: options.subAttributes } : {}),
  };
}

/** A complex attribute; sub-attributes inherit nothing from it, as in RFC 7643. */
export function complexAttribute(
  name: string,
  description: string,
  subAttributes: readonly AttributeDefinition[],
  options: Omit<AttributeOptions, 'subAttributes'> = {},
): AttributeDefinition {
  return attribute(name, 'complex', description, { ...options, subAttributes });
}

/**
 * The usual sub-attributes of a multi-valued attribute (RFC 7643 §2.4): value, display, type,
 * primary. `value` differs between attributes (a string, a reference, a binary), so it is passed in.
 */
export function multiValuedSubAttributes(
  value: AttributeDefinition,
  typeValues: readonly string[],
  subject: string,
): AttributeDefinition[] {
  return [
    value,
    attribute('display', 'string', `A human-readable name, primarily used for display purposes. READ-ONLY.`),
    attribute('type', 'string', `A label indicating the ${subject}'s function.`, {
      ...(typeValues.length > 0 ? { canonicalValues: typeValues } : {}),
    }),
    attribute(
      'primary',
      'boolean',
      `A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once.`,
    ),
  ];
}
