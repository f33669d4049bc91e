import { attribute, complexAttribute } from './attribute.util.js';
import type { AttributeDefinition } from './schema.types.js';

/**
 * Attributes every resource carries (RFC 7643 §3.1). RFC 7643 §8.7.1 leaves them out of the
 * schema representations, so they live here and the SchemaRegistry resolves them for every
 * resource type, as if they belonged to its core schema.
 *
 * `id` is not `required` here: the service provider assigns it, and a client never sends it on
 * create (RFC 7643 §3.1).
 */
export const COMMON_ATTRIBUTES: readonly AttributeDefinition[] = [
  attribute(
    'id',
    'string',
    'A unique identifier for a SCIM resource as defined by the service provider.',
    { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' },
  ),
  attribute(
    'externalId',
    'string',
    'A String that is an identifier for the resource as defined by the provisioning client.',
    { caseExact: true },
  ),
  complexAttribute(
    'meta',
    'A complex attribute containing resource metadata.',
    [
      attribute('resourceType', 'string', 'The name of the resource type of the resource.', {
        caseExact: true,
        mutability: 'readOnly',
      }),
      attribute('created', 'dateTime', 'The "DateTime" that the resource was added to the service provider.', {
        mutability: 'readOnly',
      }),
      attribute('lastModified', 'dateTime', 'The most recent DateTime that the details of this resource were updated at the service provider.', {
        mutability: 'readOnly',
      }),
      attribute('location', 'reference', 'The URI of the resource being returned.', {
        caseExact: true,
        mutability: 'readOnly',
        referenceTypes: ['uri'],
      }),
      attribute('version', 'string', 'The version of the resource being returned (its ETag).', {
        caseExact: true,
        mutability: 'readOnly',
      }),
    ],
    { mutability: 'readOnly' },
  ),
];
