import { attribute, complexAttribute } from '../schema/attribute.util.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { ScimError, ScimType } from '../scim.error.js';
import { compileFilter, evaluateFilter } from './filter.evaluator.js';
import { parseFilter } from './filter.parser.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ACME = 'urn:acme:scim:schemas:1.0:User';

const registry = new SchemaRegistry({
  schemas: [
    {
      id: ACME,
      name: 'AcmeUser',
      description: 'Test extension with numbers',
      attributes: [
        attribute('level', 'integer', 'Level'),
        attribute('score', 'decimal', 'Score'),
        attribute('tags', 'string', 'Tags', { multiValued: true }),
        complexAttribute('badge', 'Badge without a value sub-attribute', [attribute('code', 'string', 'Code', { caseExact: true })]),
      ],
    },
  ],
  extensions: [{ resourceType: 'User', schema: ACME }],
});

type Resource = Record<string, unknown>;

/** The corpus of research/scim-libraries.md §2. */
const users: Record<string, Resource> = {
  u1: {
    id: 'u1',
    userName: 'bjensen',
    displayName: 'Babs Jensen',
    title: 'Tour Guide',
    userType: 'Employee',
    active: true,
    name: { familyName: "O'Malley", givenName: 'Barbara' },
    emails: [
      { type: 'work', value: 'bjensen@example.com', primary: true },
      { type: 'home', value: 'babs@jensen.org' },
    ],
    [ENT]: { employeeNumber: '701984', manager: { value: '42', displayName: 'Boss' } },
    meta: { lastModified: '2024-03-01T10:00:00Z' },
  },
  u2: {
    id: 'u2',
    userName: 'Jsmith',
    displayName: 'Smith, John',
    title: 'Intern',
    userType: 'Intern',
    active: false,
    emails: [{ type: 'work', value: 'jsmith@example.net' }],
  },
  u3: {
    id: 'u3',
    userName: 'a "quoted" name',
    displayName: 'Alice',
    active: false,
    meta: { lastModified: '2011-05-13T06:42:34+02:00' },
  },
};
const groups: Record<string, Resource> = {
  g1: {
    id: 'g1',
    displayName: 'Tour Guides',
    members: [
      { value: '2819c223', display: 'Babs Jensen' },
      { value: 'abc', type: 'User' },
    ],
    meta: { lastModified: '2011-05-14T00:00:00Z' },
  },
};

function matching(filter: string, corpus: Record<string, Resource>, resourceType: string): string[] {
  const test = compileFilter(parseFilter(filter), registry, resourceType);
  return Object.keys(corpus).filter((id) => test(corpus[id]!));
}

function evaluate(filter: string, resource: Resource, resourceType = 'User'): boolean {
  return evaluateFilter(parseFilter(filter), resource, registry, resourceType);
}

describe('evaluateFilter', () => {
  it.each<[string, string, string, string[]]>([
    ['F1', 'userName eq "bjensen"', 'User', ['u1']],
    ['F2', 'USERNAME EQ "BJensen"', 'User', ['u1']],
    ['F3', 'name.familyName co "O\'Malley"', 'User', ['u1']],
    ['F4', 'emails[type eq "work" and value co "@example.com"]', 'User', ['u1']],
    ['F5', 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', 'User', ['u2']],
    ['F6', `${ENT}:employeeNumber eq "701984"`, 'User', ['u1']],
    ['F7', 'title pr and not (userType eq "Intern")', 'User', ['u1']],
    ['F8 users', 'meta.lastModified gt "2011-05-13T04:42:34Z"', 'User', ['u1']],
    ['F8 groups', 'meta.lastModified gt "2011-05-13T04:42:34Z"', 'Group', ['g1']],
    ['F9', 'userName eq "a \\"quoted\\" name"', 'User', ['u3']],
    ['F10', 'emails.value ew ".org" or (active eq false and displayName lt "M")', 'User', ['u1', 'u3']],
    ['F11', 'members[value eq "2819c223"]', 'Group', ['g1']],
    ['X1', 'userName eq "bjensen" or active eq false and userName eq "Jsmith"', 'User', ['u1', 'u2']],
    ['X2', 'not (userType eq "Intern") and active eq true', 'User', ['u1']],
    ['X3', 'emails.type eq "work" and emails.value co ".org"', 'User', ['u1']],
    ['X4', 'emails[type eq "work"].value eq "bjensen@example.com"', 'User', ['u1']],
    ['X5', 'active ne true and userName pr', 'User', ['u2', 'u3']],
    ['X6', 'displayName co "JENSEN"', 'User', ['u1']],
    ['X7', 'members[value eq "urn:x:1.2"] or displayName eq "a:b.c"', 'Group', []],
    ['correlated valuePath', 'emails[type eq "work" and value ew ".org"]', 'User', []],
    ['valuePath under not', 'not (emails[type eq "home"])', 'User', ['u2', 'u3']],
    ['complex without sub-attribute', 'emails co "@example.net"', 'User', ['u2']],
    ['member display', 'members.display sw "babs"', 'Group', ['g1']],
  ])('should match research vector %s: %s', (_id, filter, resourceType, expected) => {
    expect(matching(filter, resourceType === 'User' ? users : groups, resourceType)).toEqual(expected);
  });

  it('should keep the Entra form a[f].b on one element', () => {
    const resource = { emails: [{ type: 'work', value: 'a@x' }, { type: 'home', value: 'b@x' }] };
    expect(evaluate('emails[type eq "work"].value eq "b@x"', resource)).toBe(false);
    expect(evaluate('emails.type eq "work" and emails.value eq "b@x"', resource)).toBe(true);
  });

  it.each<[string, string, Resource, boolean]>([
    ['resource keys in any case', 'userName eq "bjensen"', { USERNAME: 'BJensen' }, true],
    ['sub-attribute keys in any case', 'emails[type eq "work"]', { Emails: [{ TYPE: 'Work' }] }, true],
    ['an extension key in any case', `${ENT}:employeeNumber eq "7"`, { [ENT.toLowerCase()]: { EmployeeNumber: '7' } }, true],
    ['the exact key before another casing', 'userName eq "a"', { USERNAME: 'b', userName: 'a' }, true],
    ['a caseExact id', 'id eq "ABC"', { id: 'abc' }, false],
    ['a caseExact id, same case', 'id eq "abc"', { id: 'abc' }, true],
    ['a caseExact externalId', 'externalId eq "X1"', { externalId: 'x1' }, false],
    ['a caseExact extension sub-attribute', `${ACME}:badge.code eq "A"`, { [ACME]: { badge: { code: 'a' } } }, false],
    ['Ä against ä', 'displayName eq "ärger"', { displayName: 'ÄRGER' }, true],
    ['ß against SS', 'displayName eq "STRASSE"', { displayName: 'Straße' }, true],
    ['ß against ss in co', 'displayName co "ss"', { displayName: 'Straße' }, true],
    ['ß caseExact', 'externalId eq "strasse"', { externalId: 'Straße' }, false],
    ['İ against i̇', 'displayName eq "i\u0307stanbul"', { displayName: 'İstanbul' }, true],
    ['İ against plain i (no Turkish tailoring)', 'displayName eq "istanbul"', { displayName: 'İstanbul' }, false],
    ['decomposed é against composed é, caseExact', 'externalId eq "caf\\u00e9"', { externalId: 'cafe\u0301' }, true],
    ['an offset instant against Z', 'meta.lastModified lt "2024-01-01T00:00:00Z"', { meta: { lastModified: '2024-01-01T00:00:00+01:00' } }, true],
    ['the same instant at two offsets', 'meta.lastModified eq "2011-05-13T04:42:34Z"', { meta: { lastModified: '2011-05-13T06:42:34+02:00' } }, true],
    ['ge at the same instant', 'meta.created ge "2024-01-01T01:00:00+01:00"', { meta: { created: '2024-01-01T00:00:00.000Z' } }, true],
    ['an unparseable stored dateTime', 'meta.created lt "2030-01-01T00:00:00Z"', { meta: { created: 'garbage' } }, false],
    ['integer gt', `${ACME}:level gt 5`, { [ACME]: { level: 7 } }, true],
    ['integer gt, numerically not lexically', `${ACME}:level gt 10`, { [ACME]: { level: 9 } }, false],
    ['integer stored as a string', `${ACME}:level ge 10`, { [ACME]: { level: '10' } }, true],
    ['decimal le', `${ACME}:score le 1.5`, { [ACME]: { score: 1.25 } }, true],
    ['decimal eq across representations', `${ACME}:score eq 1.50`, { [ACME]: { score: 1.5 } }, true],
    ['a multi-valued simple attribute', `${ACME}:tags eq "B"`, { [ACME]: { tags: ['a', 'b'] } }, true],
    ['boolean true', 'active eq true', { active: true }, true],
    ['Entra "True" stored', 'active eq true', { active: 'True' }, true],
    ['a "false" filter value', 'active eq "false"', { active: false }, true],
    ['ne on a different value', 'active ne true', { active: false }, true],
    ['ne on an absent attribute', 'title ne "x"', {}, true],
    ['ne when any value equals', 'emails.type ne "work"', { emails: [{ type: 'work' }, { type: 'home' }] }, false],
    ['eq null on absent', 'title eq null', {}, true],
    ['eq null on null', 'title eq null', { title: null }, true],
    ['eq null on empty string', 'title eq null', { title: '' }, true],
    ['eq null on a value', 'title eq null', { title: 'x' }, false],
    ['ne null on a value', 'title ne null', { title: 'x' }, true],
    ['ne null on absent', 'title ne null', {}, false],
    ['pr on a value', 'title pr', { title: 'x' }, true],
    ['pr on empty string', 'title pr', { title: '' }, false],
    ['pr on null', 'title pr', { title: null }, false],
    ['pr on false', 'active pr', { active: false }, true],
    ['pr on empty array', 'emails pr', { emails: [] }, false],
    ['pr on an array of empty objects', 'emails pr', { emails: [{}, { value: '' }] }, false],
    ['pr on empty object', 'name pr', { name: {} }, false],
    ['pr on a complex with one value', 'name pr', { name: { givenName: '', familyName: 'J' } }, true],
    ['pr on a sub-attribute of a multi-valued', 'emails.value pr', { emails: [{ type: 'work' }, { value: 'a@x' }] }, true],
    ['pr on the whole extension', `${ENT} pr`, { [ENT]: { department: 'R&D' } }, true],
    ['pr on an empty extension', `${ENT} pr`, { [ENT]: {} }, false],
    ['a complex extension attribute compared on its value', `${ENT}:manager eq "42"`, { [ENT]: { manager: { value: '42' } } }, true],
    ['an extension attribute at the top level is not the extension', `${ENT}:employeeNumber eq "7"`, { employeeNumber: '7' }, false],
    ['an unquoted Entra number against a string attribute', 'externalId eq 12345', { externalId: '12345' }, true],
    ['an unquoted Entra value', 'externalId eq jyoung', { externalId: 'jyoung' }, true],
    ['sw', 'userName sw "BJ"', { userName: 'bjensen' }, true],
    ['ew', 'userName ew "SEN"', { userName: 'bjensen' }, true],
    ['string gt', 'userName gt "a"', { userName: 'B' }, true],
    ['co with an empty string', 'userName co ""', { userName: 'x' }, true],
    ['a value of the wrong shape', 'emails.value eq "a"', { emails: 'a' }, false],
    ['a non-object resource value in a valuePath', 'emails[value eq "a"]', { emails: ['a'] }, false],
  ])('should handle %s', (_name, filter, resource, expected) => {
    expect(evaluate(filter, resource)).toBe(expected);
  });

  it.each<[string, string, string, string]>([
    ['an unknown attribute', 'fooBar eq "x"', 'Unknown attribute "fooBar"', 'User'],
    ['an unknown sub-attribute', 'name.nick eq "x"', 'Unknown sub-attribute "nick" of "name"', 'User'],
    ['an unknown sub-attribute in a valuePath', 'emails[kind eq "work"]', 'Unknown sub-attribute "kind" of "emails"', 'User'],
    ['an unknown schema URN', 'urn:acme:other:attr eq "x"', 'does not start with a schema URN', 'User'],
    ['a qualified path in a valuePath', 'emails[emails.type eq "work"]', 'only sub-attribute names are allowed', 'User'],
    ['a valuePath on a simple attribute', 'userName[value eq "x"]', '"userName[...]" needs a complex attribute', 'User'],
    ['gt on a boolean', 'active gt true', 'Operator "gt" is not supported for boolean attribute "active"', 'User'],
    ['co on a boolean', 'active co "t"', 'Operator "co" is not supported for boolean attribute "active"', 'User'],
    ['lt on a binary', 'x509Certificates.value lt "a"', 'Operator "lt" is not supported for binary attribute "x509Certificates.value"', 'User'],
    ['co on a dateTime', 'meta.created co "2024"', 'Operator "co" is not supported for dateTime attribute "meta.created"', 'User'],
    ['sw on an integer', `${ACME}:level sw 1`, `Operator "sw" is not supported for integer attribute "${ACME}:level"`, 'User'],
    ['a complex attribute without value', 'name eq "x"', '"name" is complex: name a sub-attribute to compare', 'User'],
    ['a complex extension without value', `${ACME}:badge eq "x"`, 'is complex', 'User'],
    ['a whole extension compared', `${ENT} eq "x"`, 'is complex', 'User'],
    ['co null', 'userName co null', 'Operator "co" cannot compare "userName" with null', 'User'],
    ['a non-boolean for a boolean', 'active eq "yes"', '"yes" is not a valid boolean value for "active"', 'User'],
    ['a number for a boolean', 'active eq 1', '1 is not a valid boolean value for "active"', 'User'],
    ['a malformed dateTime', 'meta.lastModified gt "yesterday"', '"yesterday" is not a valid dateTime value for "meta.lastModified"', 'User'],
    ['a string for an integer', `${ACME}:level eq "ten"`, '"ten" is not a valid integer value', 'User'],
    ['a User attribute on a Group', 'userName eq "x"', 'Unknown attribute "userName"', 'Group'],
  ])('should reject %s with invalidFilter', (_name, filter, detail, resourceType) => {
    let caught: unknown;
    try {
      evaluate(filter, {}, resourceType);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScimError);
    expect((caught as ScimError).scimType).toBe(ScimType.InvalidFilter);
    expect((caught as ScimError).detail).toContain(detail);
  });

  it('should reject an unknown attribute even when no resource is evaluated', () => {
    expect(() => compileFilter(parseFilter('nope pr'), registry, 'User')).toThrow(ScimError);
  });

  it('should reject a nested valuePath built by hand', () => {
    const filter = parseFilter('emails[type pr]');
    const nested = { kind: 'valuePath' as const, path: { attr: 'emails' }, filter };
    expect(() => compileFilter({ kind: 'valuePath', path: { attr: 'emails' }, filter: nested }, registry, 'User')).toThrow(
      'A valuePath cannot be nested',
    );
  });

  it('should compile once and evaluate many resources', () => {
    const test = compileFilter(parseFilter('emails[type eq "work"] and active eq true'), registry, 'User');
    expect(Object.values(users).map(test)).toEqual([true, false, false]);
  });
});
