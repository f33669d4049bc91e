import { compileProjection, project, ProjectionParams, projectionWants } from './projection.js';
import { attribute, complexAttribute } from './schema/attribute.util.js';
import { SchemaRegistry } from './schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA } from './scim.constants.js';

const registry = new SchemaRegistry();
const META = { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-02T00:00:00Z', location: 'https://sb/scim/v2/Users/u1', version: 'W/"3"' };

/** A User as `toScim` renders it, plus a `password` that must never leave whatever the projection. */
const user = {
  schemas: [USER_SCHEMA, ENT],
  id: 'u1',
  externalId: 'ext-1',
  userName: 'ada@example.com',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  active: true,
  password: 'never-returned',
  emails: [{ value: 'ada@example.com', type: 'work', primary: true }, { value: 'ada@home.example', type: 'home' }],
  [ENT]: { department: 'Engines', employeeNumber: '7', manager: { value: 'u0', displayName: 'Charles' } },
  groups: [{ value: 'g1', display: 'Analysts', type: 'direct', $ref: 'https://sb/scim/v2/Groups/g1' }],
  meta: META,
};

const group = {
  schemas: [GROUP_SCHEMA],
  id: 'g1',
  displayName: 'Analysts',
  members: [{ value: 'u1', type: 'User', $ref: 'https://sb/scim/v2/Users/u1' }],
  meta: { ...META, resourceType: 'Group' },
};

const { password: _pw, ...userWithoutPassword } = user;

describe('project', () => {
  it.each<[string, ProjectionParams, Record<string, unknown>]>([
    ['should return every default attribute but never password when nothing is asked', {}, userWithoutPassword],
    ['should return only the named attribute plus always-returned id and schemas when attributes is given',
      { attributes: 'userName' }, { schemas: user.schemas, id: 'u1', userName: 'ada@example.com' }],
    ['should match names case-insensitively when attributes is given in another case',
      { attributes: 'USERNAME,Active' }, { schemas: user.schemas, id: 'u1', userName: 'ada@example.com', active: true }],
    ['should keep one sub-attribute of a complex attribute when attributes names name.givenName',
      { attributes: 'name.givenName' }, { schemas: user.schemas, id: 'u1', name: { givenName: 'Ada' } }],
    ['should keep one sub-attribute of each element when attributes names emails.value',
      { attributes: 'emails.value' }, { schemas: user.schemas, id: 'u1', emails: [{ value: 'ada@example.com' }, { value: 'ada@home.example' }] }],
    ['should keep an extension attribute when attributes names it by its URN',
      { attributes: `${ENT}:department` }, { schemas: user.schemas, id: 'u1', [ENT]: { department: 'Engines' } }],
    ['should keep a whole extension when attributes names the bare extension URN',
      { attributes: ENT.toLowerCase() }, { schemas: user.schemas, id: 'u1', [ENT]: user[ENT] }],
    ['should keep an extension sub-attribute when attributes names manager.displayName',
      { attributes: `${ENT}:manager.displayName` }, { schemas: user.schemas, id: 'u1', [ENT]: { manager: { displayName: 'Charles' } } }],
    ['should resolve a core-URN-qualified name when attributes names urn:…:User:userName',
      { attributes: `${USER_SCHEMA}:userName` }, { schemas: user.schemas, id: 'u1', userName: 'ada@example.com' }],
    ['should never return password when attributes names it', { attributes: 'password' }, { schemas: user.schemas, id: 'u1' }],
    ['should return id when excludedAttributes names it (returned always)',
      { excludedAttributes: 'id,meta,emails,groups,name,externalId,active,userName,' + ENT }, { schemas: user.schemas, id: 'u1' }],
    ['should drop one sub-attribute when excludedAttributes names name.familyName',
      { excludedAttributes: 'name.familyName,emails,groups,meta,' + ENT },
      { schemas: user.schemas, id: 'u1', externalId: 'ext-1', userName: 'ada@example.com', name: { givenName: 'Ada' }, active: true }],
    ['should drop one extension attribute when excludedAttributes names it',
      { excludedAttributes: `${ENT}:department,${ENT}:manager` }, { ...userWithoutPassword, [ENT]: { employeeNumber: '7' } }],
    ['should take a list of strings as a SearchRequest body sends it',
      { attributes: ['userName', 'meta.version'] }, { schemas: user.schemas, id: 'u1', userName: 'ada@example.com', meta: { version: 'W/"3"' } }],
    ['should ignore names no schema defines when attributes mixes them with known ones',
      { attributes: 'userName,shoeSize' }, { schemas: user.schemas, id: 'u1', userName: 'ada@example.com' }],
  ])('%s', (_name, params, expected) => {
    expect(project(registry, compileProjection(registry, 'User', params), user)).toEqual(expected);
  });

  it.each<[string, ProjectionParams, Record<string, unknown>]>([
    ['should drop members when excludedAttributes=members', { excludedAttributes: 'members' },
      { schemas: group.schemas, id: 'g1', displayName: 'Analysts', meta: group.meta }],
    ['should keep member values only when attributes=members.value', { attributes: 'members.value' },
      { schemas: group.schemas, id: 'g1', members: [{ value: 'u1' }] }],
  ])('%s', (_name, params, expected) => {
    expect(project(registry, compileProjection(registry, 'Group', params), group)).toEqual(expected);
  });

  it('should reject a non-string name when a SearchRequest sends one', () => {
    expect(() => compileProjection(registry, 'User', { attributes: [1] })).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('project with returned request and always sub-attributes', () => {
  const ACME = 'urn:acme:scim:schemas:1.0:User';
  const acme = new SchemaRegistry({
    schemas: [{
      id: ACME, name: 'AcmeUser', description: 'Acme', attributes: [
        attribute('badge', 'string', 'Badge number', { returned: 'request' }),
        attribute('floor', 'string', 'Floor'),
        complexAttribute('desk', 'Desk', [attribute('code', 'string', 'Code', { returned: 'always' }), attribute('note', 'string', 'Note')]),
      ],
    }],
    extensions: [{ resourceType: 'User', schema: ACME }],
  });
  const doc = { schemas: [USER_SCHEMA, ACME], id: 'u1', userName: 'ada', [ACME]: { badge: 'B-1', floor: '3', desk: { code: 'D7', note: 'window' } } };

  it.each<[string, ProjectionParams, Record<string, unknown>]>([
    ['should leave out a returned-request attribute when nothing is asked', {},
      { schemas: doc.schemas, id: 'u1', userName: 'ada', [ACME]: { floor: '3', desk: { code: 'D7', note: 'window' } } }],
    ['should return a returned-request attribute when attributes names it', { attributes: `${ACME}:badge` },
      { schemas: doc.schemas, id: 'u1', [ACME]: { badge: 'B-1' } }],
    ['should leave out a returned-request attribute when attributes names only its extension', { attributes: ACME },
      { schemas: doc.schemas, id: 'u1', [ACME]: { floor: '3', desk: { code: 'D7', note: 'window' } } }],
    ['should keep an always sub-attribute when attributes names a sibling', { attributes: `${ACME}:desk.note` },
      { schemas: doc.schemas, id: 'u1', [ACME]: { desk: { code: 'D7', note: 'window' } } }],
    ['should keep an always sub-attribute when excludedAttributes names it', { excludedAttributes: `${ACME}:desk.code,${ACME}:desk.note` },
      { schemas: doc.schemas, id: 'u1', userName: 'ada', [ACME]: { floor: '3', desk: { code: 'D7' } } }],
    ['should drop a simple attribute when attributes names a sub-attribute it cannot have', { attributes: 'userName.first' },
      { schemas: doc.schemas, id: 'u1' }],
  ])('%s', (_name, params, expected) => {
    expect(project(acme, compileProjection(acme, 'User', params), doc)).toEqual(expected);
  });
});

describe('projectionWants', () => {
  it.each<[string, string, ProjectionParams, string, boolean]>([
    ['should want members when nothing is asked', 'Group', {}, 'members', true],
    ['should not want members when excludedAttributes=members', 'Group', { excludedAttributes: 'Members' }, 'members', false],
    ['should not want members when attributes names only displayName', 'Group', { attributes: 'displayName' }, 'members', false],
    ['should want members when attributes names members.value', 'Group', { attributes: 'members.value' }, 'members', true],
    ['should not want groups when excludedAttributes=groups', 'User', { excludedAttributes: 'groups' }, 'groups', false],
    ['should not want groups when attributes leaves them out', 'User', { attributes: 'userName' }, 'groups', false],
    ['should want groups when nothing is asked', 'User', {}, 'groups', true],
  ])('%s', (_name, type, params, attr, expected) => {
    expect(projectionWants(registry, compileProjection(registry, type, params), attr)).toBe(expected);
  });
});

describe('compileProjection with a value filter in a name', () => {
  it('should treat emails[type eq "work"] as emails', () => {
    const p = compileProjection(registry, 'User', { attributes: 'emails[type eq "work"]' });
    expect(project(registry, p, user)).toEqual({ schemas: user.schemas, id: 'u1', emails: user.emails });
  });
});
