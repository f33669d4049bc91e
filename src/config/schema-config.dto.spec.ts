import { buildAppConfig } from './app-config.js';
import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';

const env = loadEnv({ SWITCHBOARD_CONFIG: 'switchboard.yaml' });
const ACME = 'urn:acme:scim:schemas:1.0:User';

function problems(schemas: unknown): string[] {
  try {
    buildAppConfig({ schemas }, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const schema = (overrides: Record<string, unknown> = {}, attributes: unknown[] = [{ name: 'costCenter', type: 'string' }]) =>
  ({ id: ACME, name: 'Acme', resourceType: 'User', attributes, ...overrides });

describe('custom schemas in switchboard.yaml', () => {
  it('should build registry options with RFC 7643 defaults for omitted characteristics', () => {
    const config = buildAppConfig({
      schemas: [
        schema({ description: 'Acme HR' }, [
          { name: 'costCenter', type: 'string' },
          { name: 'pin', type: 'string', mutability: 'writeOnly', returned: 'never' },
          { name: 'site', type: 'complex', subAttributes: [{ name: 'code', type: 'string', caseExact: true }] },
        ]),
        { id: 'urn:acme:scim:schemas:1.0:Group', name: 'AcmeGroup', resourceType: ['Group'], required: true, attributes: [{ name: 'owner', type: 'string', required: true }] },
      ],
    }, env);
    expect(config.schemas.extensions).toEqual([
      { resourceType: 'User', schema: ACME, required: false },
      { resourceType: 'Group', schema: 'urn:acme:scim:schemas:1.0:Group', required: true },
    ]);
    expect(config.schemas.schemas[0]).toEqual({
      id: ACME, name: 'Acme', description: 'Acme HR',
      attributes: [
        { name: 'costCenter', type: 'string', multiValued: false, description: '', required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' },
        { name: 'pin', type: 'string', multiValued: false, description: '', required: false, caseExact: false, mutability: 'writeOnly', returned: 'never', uniqueness: 'none' },
        {
          name: 'site', type: 'complex', multiValued: false, description: '', required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none',
          subAttributes: [{ name: 'code', type: 'string', multiValued: false, description: '', required: false, caseExact: true, mutability: 'readWrite', returned: 'default', uniqueness: 'none' }],
        },
      ],
    });
  });

  it('should default to no custom schemas', () => {
    expect(buildAppConfig({}, env).schemas).toEqual({ schemas: [], extensions: [] });
  });

  it.each<[string, unknown, string]>([
    ['an unknown type', [schema({}, [{ name: 'x', type: 'text' }])], 'schemas[0].attributes[0].type: type must be one of string, boolean'],
    ['an unknown mutability', [schema({}, [{ name: 'x', type: 'string', mutability: 'sometimes' }])], 'schemas[0].attributes[0].mutability: mutability must be one of'],
    ['an unknown key', [schema({}, [{ name: 'x', type: 'string', indexed: true }])], 'schemas[0].attributes[0].indexed: should not exist'],
    ['an unknown resource type', [schema({ resourceType: 'Device' })], 'schemas[0].resourceType: resourceType must be User, Group or a list of them'],
    ['no attributes', [schema({}, [])], 'schemas[0].attributes: attributes should not be empty'],
    ['a bad URN', [schema({ id: 'acme-user' })], 'schemas: schema id "acme-user" is not a URN'],
    ['a URN with a space', [schema({ id: 'urn:acme:my schema' })], 'is not a URN'],
    ['a core URN', [schema({ id: 'urn:ietf:params:scim:schemas:core:2.0:User' })], 'schema urn:ietf:params:scim:schemas:core:2.0:User is defined twice (it is a core schema)'],
    ['the Enterprise URN in other casing', [schema({ id: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user' })], 'is defined twice (it is a core schema)'],
    ['a reserved namespace', [schema({ id: 'urn:ietf:params:scim:schemas:core:2.0:Device' })], 'is in a namespace RFC 7643/7644 reserve'],
    ['a URN under a core URN', [schema({ id: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:acme' })], 'starts with schema id urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    ['the same URN twice', [schema(), schema({ id: ACME.toUpperCase() })], 'is defined twice'],
    ['duplicate attribute names', [schema({}, [{ name: 'costCenter', type: 'string' }, { name: 'COSTCENTER', type: 'integer' }])], `attribute ${ACME}:COSTCENTER is defined twice`],
    ['duplicate sub-attribute names', [schema({}, [{ name: 'site', type: 'complex', subAttributes: [{ name: 'code', type: 'string' }, { name: 'Code', type: 'string' }] }])], 'site:Code is defined twice'],
    ['a bad attribute name', [schema({}, [{ name: 'cost center', type: 'string' }])], 'is not valid (RFC 7643 §2.1'],
    ['a complex sub-attribute', [schema({}, [{ name: 'site', type: 'complex', subAttributes: [{ name: 'geo', type: 'complex', subAttributes: [{ name: 'lat', type: 'decimal' }] }] }])], 'is complex (RFC 7643 §2.3.8'],
    ['a complex attribute without sub-attributes', [schema({}, [{ name: 'site', type: 'complex' }])], 'complex attribute urn:acme:scim:schemas:1.0:User:site has no sub-attributes'],
    ['sub-attributes on a string', [schema({}, [{ name: 'x', type: 'string', subAttributes: [{ name: 'y', type: 'string' }] }])], 'of type string has sub-attributes'],
    ['a reference without referenceTypes', [schema({}, [{ name: 'home', type: 'reference' }])], 'needs referenceTypes'],
    ['an unknown referenceType', [schema({}, [{ name: 'home', type: 'reference', referenceTypes: ['Device'] }])], 'referenceType "Device" is not a resource type, external or uri'],
    ['referenceTypes on a string', [schema({}, [{ name: 'home', type: 'string', referenceTypes: ['external'] }])], 'has referenceTypes'],
    ['a returned writeOnly', [schema({}, [{ name: 'pin', type: 'string', mutability: 'writeOnly', returned: 'default' }])], 'is writeOnly, so returned must be never'],
    ['a writeOnly without returned (never is required, not implied)', [schema({}, [{ name: 'pin', type: 'string', mutability: 'writeOnly' }])], `attribute ${ACME}:pin is writeOnly, so returned must be never`],
    ['a writeOnly sub-attribute without returned', [schema({}, [{ name: 'site', type: 'complex', subAttributes: [{ name: 'pin', type: 'string', mutability: 'writeOnly' }] }])], 'site:pin is writeOnly, so returned must be never'],
    ['attributes as a string', [schema({}, 'x' as unknown as unknown[])], 'schemas[0].attributes: attributes must be an array'],
    ['subAttributes as a string', [schema({}, [{ name: 'site', type: 'complex', subAttributes: 'x' }])], 'schemas[0].attributes[0].subAttributes: subAttributes must be an array'],
    ['an unenforced uniqueness', [schema({}, [{ name: 'badge', type: 'string', uniqueness: 'server' }])], 'uniqueness "server" is not enforced'],
  ])('should refuse %s with a clear message', (_name, schemas, message) => {
    const found = problems(schemas);
    expect(found.join('\n')).toContain(message);
  });

  it('should list every problem at once', () => {
    const found = problems([schema({ id: 'nope' }), schema({}, [{ name: 'a', type: 'string' }, { name: 'A', type: 'string' }, { name: 'r', type: 'reference' }])]);
    expect(found).toEqual(expect.arrayContaining([
      expect.stringContaining('schema id "nope" is not a URN'),
      expect.stringContaining(`attribute ${ACME}:A is defined twice`),
      expect.stringContaining('needs referenceTypes'),
    ]));
  });
});
