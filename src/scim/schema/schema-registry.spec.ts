import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../scim.constants.js';
import { ScimError, ScimType } from '../scim.error.js';
import { attribute, complexAttribute } from './attribute.util.js';
import { CORE_SCHEMAS, SchemaRegistry, type ResolvedPath, type SchemaRegistryOptions } from './schema-registry.js';
import type { AttributeDefinition, SchemaDefinition } from './schema.types.js';

const ACME = 'urn:acme:scim:schemas:1.0:User';
const DOTTED = 'urn:acme:ext:v1.2';

const acmeSchema: SchemaDefinition = {
  id: ACME,
  name: 'AcmeUser',
  description: 'Acme badge data',
  attributes: [
    attribute('badgeNumber', 'integer', 'Badge number'),
    complexAttribute('site', 'Work site', [attribute('code', 'string', 'Site code', { caseExact: true })]),
  ],
};
const dottedSchema: SchemaDefinition = {
  id: DOTTED,
  name: 'Dotted',
  description: 'A URN with a dot in its last segment',
  attributes: [attribute('costCode', 'string', 'Cost code')],
};

const registry = new SchemaRegistry({
  schemas: [acmeSchema, dottedSchema],
  extensions: [
    { resourceType: 'User', schema: ACME },
    { resourceType: 'User', schema: DOTTED, required: true },
  ],
});

/** The parts of a resolution a test states; attribute objects are compared by name. */
function summary(r: ResolvedPath) {
  return {
    schemaUrn: r.schemaUrn,
    canonicalPath: r.canonicalPath,
    attribute: r.attribute.name,
    subAttribute: r.subAttribute?.name,
    inExtension: r.inExtension,
    wholeSchema: r.wholeSchema,
  };
}

function thrown(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a ScimError');
}

describe(SchemaRegistry.name, () => {
  it.each<[string, string, string, string, boolean]>([
    ['User', 'userName', USER_SCHEMA, 'userName', false],
    ['User', 'USERNAME', USER_SCHEMA, 'userName', false],
    ['User', 'name.GIVENNAME', USER_SCHEMA, 'name.givenName', false],
    ['User', `${USER_SCHEMA}:userName`, USER_SCHEMA, 'userName', false],
    ['User', `${USER_SCHEMA.toUpperCase()}:EMAILS.VALUE`, USER_SCHEMA, 'emails.value', false],
    ['User', 'id', USER_SCHEMA, 'id', false],
    ['User', 'externalId', USER_SCHEMA, 'externalId', false],
    ['User', 'meta.lastModified', USER_SCHEMA, 'meta.lastModified', false],
    ['User', `${USER_SCHEMA}:meta.created`, USER_SCHEMA, 'meta.created', false],
    ['User', 'groups.$ref', USER_SCHEMA, 'groups.$ref', false],
    ['User', `${ENTERPRISE_USER_SCHEMA}:employeeNumber`, ENTERPRISE_USER_SCHEMA, `${ENTERPRISE_USER_SCHEMA}:employeeNumber`, true],
    ['User', `${ENTERPRISE_USER_SCHEMA.toLowerCase()}:MANAGER.value`, ENTERPRISE_USER_SCHEMA, `${ENTERPRISE_USER_SCHEMA}:manager.value`, true],
    ['User', `${ACME}:badgeNumber`, ACME, `${ACME}:badgeNumber`, true],
    ['User', `${ACME}:site.CODE`, ACME, `${ACME}:site.code`, true],
    ['User', `${DOTTED}:costCode`, DOTTED, `${DOTTED}:costCode`, true],
    ['Group', 'displayName', GROUP_SCHEMA, 'displayName', false],
    ['Group', 'members.$REF', GROUP_SCHEMA, 'members.$ref', false],
    ['group', `${GROUP_SCHEMA}:members.value`, GROUP_SCHEMA, 'members.value', false],
    ['Group', 'meta.version', GROUP_SCHEMA, 'meta.version', false],
  ])('should resolve %s %s', (type, path, schemaUrn, canonicalPath, inExtension) => {
    const resolved = registry.resolve(type, path);
    expect(resolved.schemaUrn).toBe(schemaUrn);
    expect(resolved.canonicalPath).toBe(canonicalPath);
    expect(resolved.inExtension).toBe(inExtension);
    expect(resolved.wholeSchema).toBe(false);
    expect(resolved.definition).toBe(resolved.subAttribute ?? resolved.attribute);
  });

  it.each([ENTERPRISE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA.toUpperCase(), ACME, DOTTED])(
    'should resolve the bare extension URN %s to the whole extension',
    (urn) => {
      const resolved = registry.resolve('User', urn);
      const schema = registry.schema(urn);
      expect(summary(resolved)).toEqual({
        schemaUrn: schema.id,
        canonicalPath: schema.id,
        attribute: schema.id,
        subAttribute: undefined,
        inExtension: true,
        wholeSchema: true,
      });
      expect(resolved.attribute.type).toBe('complex');
      expect(resolved.attribute.subAttributes).toBe(schema.attributes);
      expect(resolved.attribute.required).toBe(urn === DOTTED);
    },
  );

  it.each<[string, string, string]>([
    ['User', 'fooBar', 'Unknown attribute "fooBar" in "fooBar"'],
    ['User', 'name.foo', 'Unknown sub-attribute "foo" of "name" in "name.foo"'],
    ['User', 'userName.x', 'Attribute "userName" has no sub-attributes ("userName.x")'],
    ['User', 'emails.value.x', '"emails.value.x" is not a valid attribute path'],
    ['User', 'name.', '"name." is not a valid attribute path'],
    ['User', '', '"" is not a valid attribute path'],
    ['User', 'manager', 'Unknown attribute "manager" in "manager"'],
    ['User', USER_SCHEMA, `"${USER_SCHEMA}" names the core schema, not an attribute`],
    ['User', `${USER_SCHEMA}:`, `"${USER_SCHEMA}:" is not a valid attribute path`],
    ['User', `${USER_SCHEMA}:employeeNumber`, `Unknown attribute "employeeNumber" in "${USER_SCHEMA}:employeeNumber"`],
    ['User', `${ENTERPRISE_USER_SCHEMA}:manager.value:x`, `"${ENTERPRISE_USER_SCHEMA}:manager.value:x" is not a valid attribute path`],
    ['User', 'urn:unknown:schema:attr', '"urn:unknown:schema:attr" does not start with a schema URN of resource type User'],
    ['User', `${ENTERPRISE_USER_SCHEMA}x:employeeNumber`, 'does not start with a schema URN of resource type User'],
    ['Group', 'userName', 'Unknown attribute "userName" in "userName"'],
    ['Group', `${ENTERPRISE_USER_SCHEMA}:employeeNumber`, 'does not start with a schema URN of resource type Group'],
  ])('should reject %s %j', (type, path, detail) => {
    for (const kind of ['invalidPath', 'invalidFilter'] as const) {
      const error = thrown(() => registry.resolve(type, path, kind));
      expect(error.status).toBe(400);
      expect(error.scimType).toBe(kind === 'invalidPath' ? ScimType.InvalidPath : ScimType.InvalidFilter);
      expect(error.detail).toContain(detail);
    }
    expect(registry.tryResolve(type, path)).toBeUndefined();
  });

  it('should default to invalidPath', () => {
    expect(thrown(() => registry.resolve('User', 'nope')).scimType).toBe(ScimType.InvalidPath);
  });

  it.each<[string, string, Partial<AttributeDefinition>]>([
    ['User', 'id', { type: 'string', caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }],
    ['User', 'externalId', { caseExact: true, mutability: 'readWrite', uniqueness: 'none' }],
    ['User', 'meta', { type: 'complex', mutability: 'readOnly' }],
    ['User', 'meta.lastModified', { type: 'dateTime', mutability: 'readOnly' }],
    ['User', 'userName', { required: true, uniqueness: 'server', caseExact: false }],
    ['User', 'password', { mutability: 'writeOnly', returned: 'never' }],
    ['User', 'active', { type: 'boolean' }],
    ['User', 'profileUrl', { type: 'reference', referenceTypes: ['external'] }],
    ['User', 'emails', { type: 'complex', multiValued: true }],
    ['User', 'emails.type', { canonicalValues: ['work', 'home', 'other'] }],
    ['User', 'phoneNumbers.type', { canonicalValues: ['work', 'home', 'mobile', 'fax', 'pager', 'other'] }],
    ['User', 'ims.type', { canonicalValues: ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'] }],
    ['User', 'photos.value', { type: 'reference', referenceTypes: ['external'] }],
    ['User', 'addresses.primary', { type: 'boolean' }],
    ['User', 'groups', { multiValued: true, mutability: 'readOnly' }],
    ['User', 'groups.type', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }],
    ['User', 'entitlements.value', { type: 'string' }],
    ['User', 'roles.primary', { type: 'boolean' }],
    ['User', 'x509Certificates.value', { type: 'binary', caseExact: true }],
    ['User', `${ENTERPRISE_USER_SCHEMA}:manager.$ref`, { type: 'reference', referenceTypes: ['User'] }],
    ['User', `${ENTERPRISE_USER_SCHEMA}:manager.displayName`, { mutability: 'readOnly' }],
    ['Group', 'displayName', { required: true }],
    ['Group', 'members', { multiValued: true, mutability: 'readWrite' }],
    ['Group', 'members.value', { mutability: 'immutable' }],
    ['Group', 'members.type', { canonicalValues: ['User', 'Group'] }],
    ['Group', 'members.display', { type: 'string' }],
  ])('should define %s %s per RFC 7643', (type, path, characteristics) => {
    expect(registry.resolve(type, path).definition).toMatchObject(characteristics);
  });

  it('should spell out every characteristic of every core attribute', () => {
    const walk = (attrs: readonly AttributeDefinition[], nested: boolean): void => {
      for (const attr of attrs) {
        expect(Object.keys(attr)).toEqual(
          expect.arrayContaining(['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness']),
        );
        expect(attr.type === 'complex').toBe(attr.subAttributes !== undefined);
        if (attr.type === 'complex') {
          expect(nested).toBe(false);
          walk(attr.subAttributes!, true);
        }
      }
    };
    for (const schema of CORE_SCHEMAS) walk(schema.attributes, false);
    walk(registry.commonAttributes(), false);
    expect(registry.resolve('User', 'name').attribute.subAttributes!.map((a) => a.name)).toEqual([
      'formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix',
    ]);
  });

  it('should list the schemas of a resource type, core first', () => {
    expect(registry.schemasFor('User').map((s) => s.id)).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ACME, DOTTED]);
    expect(registry.schemasFor('Group').map((s) => s.id)).toEqual([GROUP_SCHEMA]);
    expect(new SchemaRegistry().schemasFor('User').map((s) => s.id)).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
  });

  it('should look up resource types and schemas case-insensitively', () => {
    expect(registry.resourceType('user')).toMatchObject({ name: 'User', endpoint: '/Users' });
    expect(registry.resourceType('User').schemaExtensions).toEqual([
      { schema: ENTERPRISE_USER_SCHEMA, required: false },
      { schema: ACME, required: false },
      { schema: DOTTED, required: true },
    ]);
    expect(registry.resourceTypes().map((t) => t.name)).toEqual(['User', 'Group']);
    expect(registry.schema(ACME.toUpperCase()).id).toBe(ACME);
    expect(registry.schemas().map((s) => s.id)).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ACME, DOTTED]);
  });

  it.each<[string, () => unknown]>([
    ['resource type', () => registry.resourceType('Device')],
    ['resource type in resolve', () => registry.resolve('Device', 'id')],
    ['schema', () => registry.schema('urn:nope')],
  ])('should answer 404 for an unknown %s', (_name, fn) => {
    expect(thrown(fn).status).toBe(404);
  });

  const bad = (name: string, attrs: AttributeDefinition[]): SchemaDefinition => ({ id: 'urn:bad:x', name, description: '', attributes: attrs });

  it.each<[string, SchemaRegistryOptions, string]>([
    ['a duplicate schema', { schemas: [{ ...acmeSchema, id: USER_SCHEMA.toUpperCase() }] }, 'is defined twice'],
    ['a non-URN schema id', { schemas: [{ ...acmeSchema, id: 'acme' }] }, 'is not a URN'],
    ['a URN ending in ":"', { schemas: [{ ...acmeSchema, id: 'urn:acme:' }] }, 'is not a URN'],
    ['an unknown extension', { extensions: [{ resourceType: 'User', schema: 'urn:nope' }] }, 'refers to unknown schema urn:nope'],
    ['an unknown resource type', { schemas: [acmeSchema], extensions: [{ resourceType: 'Device', schema: ACME }] }, 'unknown resource type Device'],
    ['an extension listed twice', { extensions: [{ resourceType: 'User', schema: ENTERPRISE_USER_SCHEMA }] }, 'lists a schema twice'],
    ['a bad attribute name', { schemas: [bad('x', [attribute('a.b', 'string', '')])] }, 'is not valid'],
    ['a duplicate attribute', { schemas: [bad('x', [attribute('a', 'string', ''), attribute('A', 'string', '')])] }, 'defined twice'],
    ['a complex sub-attribute', { schemas: [bad('x', [complexAttribute('a', '', [complexAttribute('b', '', [attribute('c', 'string', '')])])])] }, 'is complex'],
    ['a complex attribute without sub-attributes', { schemas: [bad('x', [complexAttribute('a', '', [])])] }, 'has no sub-attributes'],
    ['a simple attribute with sub-attributes', { schemas: [bad('x', [attribute('a', 'string', '', { subAttributes: [attribute('b', 'string', '')] })])] }, 'has sub-attributes'],
    ['a resource type without its schema', { resourceTypes: [{ id: 'D', name: 'D', endpoint: '/D', description: '', schema: 'urn:nope', schemaExtensions: [] }] }, 'unknown schema'],
    ['a core schema redefining a common attribute', { schemas: [bad('x', [attribute('id', 'string', '')])], resourceTypes: [{ id: 'D', name: 'D', endpoint: '/D', description: '', schema: 'urn:bad:x', schemaExtensions: [] }] }, 'redefines attribute id'],
  ])('should refuse a configuration with %s', (_name, options, message) => {
    expect(() => new SchemaRegistry(options)).toThrow(message);
  });
});
