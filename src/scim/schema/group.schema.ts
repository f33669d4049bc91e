import { GROUP_SCHEMA } from '../scim.constants.js';
import { attribute, complexAttribute } from './attribute.util.js';
import type { SchemaDefinition } from './schema.types.js';

/**
 * The core Group schema, RFC 7643 §4.2 and §8.7.1. `displayName` is required as §4.2 says (the
 * §8.7.1 listing marks it optional, a known inconsistency). `members.display` is described in §4.2
 * but missing from §8.7.1; Entra and Okta send it, so it is defined here.
 */
export const GROUP_SCHEMA_DEFINITION: SchemaDefinition = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    attribute('displayName', 'string', 'A human-readable name for the Group.', { required: true }),
    complexAttribute(
      'members',
      'A list of members of the Group.',
      [
        attribute('value', 'string', 'Identifier of the member of this Group.', { mutability: 'immutable' }),
        attribute('$ref', 'reference', 'The URI corresponding to a SCIM resource that is a member of this Group.', {
          mutability: 'immutable',
          referenceTypes: ['User', 'Group'],
        }),
        attribute('type', 'string', "A label indicating the type of resource, e.g., 'User' or 'Group'.", {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
        attribute('display', 'string', 'A human-readable name for the member, primarily used for display purposes.', {
          mutability: 'immutable',
        }),
      ],
      { multiValued: true },
    ),
  ],
};
