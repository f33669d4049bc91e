import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../scim.constants.js';
import type { ResourceTypeDefinition } from './schema.types.js';

/** RFC 7643 §8.6: User with the optional Enterprise extension. */
export const USER_RESOURCE_TYPE: ResourceTypeDefinition = {
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  schema: USER_SCHEMA,
  schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
};

/** RFC 7643 §8.6: Group, no extensions. */
export const GROUP_RESOURCE_TYPE: ResourceTypeDefinition = {
  id: 'Group',
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  schema: GROUP_SCHEMA,
  schemaExtensions: [],
};

export const CORE_RESOURCE_TYPES: readonly ResourceTypeDefinition[] = [USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE];
