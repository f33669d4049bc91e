import { indexAttributes } from '../../identity/attr-index.js';
import { attribute } from '../schema/attribute.util.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { decodeNumber, encodeNumber, IndexSchema, INVALID_VALUE } from './index-schema.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user';
const ACME = 'urn:acme:scim:schemas:1.0:User';
const registry = new SchemaRegistry({
  schemas: [{
    id: ACME, name: 'Acme', description: 'Acme',
    attributes: [attribute('level', 'integer', 'l'), attribute('score', 'decimal', 's'), attribute('hired', 'dateTime', 'h'), attribute('badge', 'string', 'b', { caseExact: true })],
  }],
  extensions: [{ resourceType: 'User', schema: ACME }],
});
const users = new IndexSchema(registry, 'User');
const acme = ACME.toLowerCase();

describe('encodeNumber', () => {
  const ordered = [-Infinity, -1e300, -(2 ** 53), -10, -9, -1.5, -1, -1e-300, 0, 1e-300, 0.5, 1, 9, 10, 2 ** 53, 1e21, 1e300, Infinity];

  it('sorts byte-wise in numeric order, fixed width', () => {
    const encoded = ordered.map(encodeNumber);
    expect(encoded.every((e) => /^[0-9a-f]{16}$/.test(e))).toBe(true);
    expect([...encoded].sort()).toEqual(encoded);
  });

  it.each(ordered)('round-trips %p', (n) => {
    expect(decodeNumber(encodeNumber(n))).toBe(n);
  });

  it('encodes -0 as 0 (the evaluator has -0 === 0)', () => {
    expect(encodeNumber(-0)).toBe(encodeNumber(0));
  });
});

describe('IndexSchema.normalise (write time)', () => {
  it.each<[string, string | number | boolean, string | undefined]>([
    ['username', 'BJensen', 'bjensen'],
    ['username', 'Straße', 'strasse'],
    ['username', 'İ', 'i̇'],
    ['username', 'A\u0308', 'ä'],
    ['displayname', 'ΌΣΟΣ', 'όσοσ'],
    ['id', 'AbC', 'AbC'],
    ['externalid', 'AbC', 'AbC'],
    ['externalid', 'A\u0308', 'Ä'],
    ['emails.value', 'X@Y.COM', 'x@y.com'],
    ['emails.primary', true, 'true'],
    ['emails.primary', 'False', 'false'],
    ['active', 'yes', INVALID_VALUE],
    ['x509certificates.value', 'QUJD', 'QUJD'],
    ['meta.created', '2024-01-01T01:00:00+01:00', '2024-01-01T00:00:00.000Z'],
    ['meta.lastmodified', '2024-01-01', '2024-01-01T00:00:00.000Z'],
    ['meta.created', 'yesterday', INVALID_VALUE],
    ['meta.version', 'W/"3"', 'W/"3"'],
    [`${ENT}:employeenumber`, 'E-7', 'e-7'],
    [`${ENT}:manager.value`, 'ABC', 'abc'],
    [`${acme}:level`, 10, encodeNumber(10)],
    [`${acme}:level`, '10', encodeNumber(10)],
    [`${acme}:score`, -0.5, encodeNumber(-0.5)],
    [`${acme}:score`, 'x', INVALID_VALUE],
    [`${acme}:hired`, '2024-06-30T23:30:00-01:00', '2024-07-01T00:30:00.000Z'],
    [`${acme}:badge`, 'AbC', 'AbC'],
    ['password', 'secret', undefined],
    ['nosuchattribute', 'x', undefined],
    ['name', 'x', undefined],
  ])('%s %p → %p', (path, value, expected) => {
    expect(users.normalise(path, value)).toBe(expected);
  });

  it('indexes elements with their index, a marker per object, and skips empty elements', () => {
    const rows = indexAttributes({ userName: 'U', name: {}, emails: [{}, { value: 'A@X', primary: true }] }, users.normalise);
    expect(rows).toEqual([
      { path: 'username', value: 'u', element: null },
      { path: 'name', value: '', element: null },
      { path: 'emails', value: '', element: 1 },
      { path: 'emails.value', value: 'a@x', element: 1 },
      { path: 'emails.primary', value: 'true', element: 1 },
    ]);
  });
});

describe('IndexSchema.target (filter and sort paths)', () => {
  it.each<[string, { key: string; presence: string; prefix: boolean; multiValued: boolean; container?: string; primaryKey?: string }]>([
    ['USERNAME', { key: 'username', presence: 'username', prefix: false, multiValued: false }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:name.GivenName', { key: 'name.givenname', presence: 'name.givenname', prefix: false, multiValued: false, container: 'name' }],
    ['emails', { key: 'emails.value', presence: 'emails.', prefix: true, multiValued: true, container: 'emails', primaryKey: 'emails.primary' }],
    ['emails.type', { key: 'emails.type', presence: 'emails.type', prefix: false, multiValued: true, container: 'emails', primaryKey: 'emails.primary' }],
    [`${ENT}:Manager`, { key: `${ENT}:manager.value`, presence: `${ENT}:manager.`, prefix: true, multiValued: false, container: `${ENT}:manager` }],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', { key: `${ENT}:`, presence: `${ENT}:`, prefix: true, multiValued: false }],
    ['meta.created', { key: 'meta.created', presence: 'meta.created', prefix: false, multiValued: false, container: 'meta' }],
  ])('%s', (path, expected) => {
    const t = users.targetOf(registry.resolve('User', path));
    expect({ key: t.key, presence: t.presence.key, prefix: t.presence.prefix, multiValued: t.multiValued, container: t.container, primaryKey: t.primaryKey })
      .toEqual({ container: undefined, primaryKey: undefined, ...expected });
  });

  it.each<[string, string | number | boolean, string | undefined]>([
    ['userName', 'ẞ', 'ss'],
    ['externalId', 'ẞ', 'ẞ'],
    ['active', 'TRUE', 'true'],
    ['active', 'maybe', undefined],
    ['meta.created', '2023-12-31T19:00:00-05:00', '2024-01-01T00:00:00.000Z'],
    [`${ACME}:level`, '1e1', encodeNumber(10)],
    ['title', 42, '42'],
  ])('literal %s %p → %p', (path, value, expected) => {
    expect(users.literal(registry.resolve('User', path).definition, value)).toBe(expected);
  });
});
