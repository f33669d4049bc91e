import { ScimError, ScimType } from '../scim.error.js';
import { formatFilter, formatPatchPath, type Filter, type PatchPath } from './filter.ast.js';
import { parseFilter, parsePatchPath } from './filter.parser.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const eq = (attr: string, value: string | number | boolean | null, sub?: string): Filter => ({
  kind: 'compare',
  path: sub === undefined ? { attr } : { attr, sub },
  op: 'eq',
  value,
});

function parseError(text: string, options?: Parameters<typeof parseFilter>[1]): ScimError {
  try {
    parseFilter(text, options);
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error(`expected "${text}" to be rejected`);
}

describe('parseFilter', () => {
  it.each<[string, Filter]>([
    ['userName eq "bjensen"', eq('userName', 'bjensen')],
    ['USERNAME EQ "BJensen"', eq('USERNAME', 'BJensen')],
    ['name.familyName co "O\'Malley"', { kind: 'compare', path: { attr: 'name', sub: 'familyName' }, op: 'co', value: "O'Malley" }],
    [`${CORE}:userName sw "J"`, { kind: 'compare', path: { uri: CORE, attr: 'userName' }, op: 'sw', value: 'J' }],
    [`${ENT}:employeeNumber eq "701984"`, { kind: 'compare', path: { uri: ENT, attr: 'employeeNumber' }, op: 'eq', value: '701984' }],
    [`${ENT}:manager.value eq "x"`, { kind: 'compare', path: { uri: ENT, attr: 'manager', sub: 'value' }, op: 'eq', value: 'x' }],
    ['title pr', { kind: 'present', path: { attr: 'title' } }],
    ['title PR', { kind: 'present', path: { attr: 'title' } }],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', { kind: 'compare', path: { attr: 'meta', sub: 'lastModified' }, op: 'gt', value: '2011-05-13T04:42:34Z' }],
    ['members.$ref eq "x"', eq('members', 'x', '$ref')],
    ['active EQ TRUE', eq('active', true)],
    ['active eq False', eq('active', false)],
    ['manager eq NULL', eq('manager', null)],
    ['n eq 0', eq('n', 0)],
    ['n eq -5', eq('n', -5)],
    ['n eq 1.5', eq('n', 1.5)],
    ['n eq 2e10', eq('n', 2e10)],
    ['n eq -1.25E-3', eq('n', -1.25e-3)],
    ['userName eq"x"', eq('userName', 'x')],
    ['\tuserName\neq\r\n"x"  ', eq('userName', 'x')],
    ['not pr', { kind: 'present', path: { attr: 'not' } }],
    // Entra documents unquoted values; they read as strings unless literal or numeric.
    ['externalId eq jyoung', eq('externalId', 'jyoung')],
    ['externalId eq jyoung@contoso.com', eq('externalId', 'jyoung@contoso.com')],
    ['employeeNumber eq 007', eq('employeeNumber', '007')],
    ['externalId eq 12345', eq('externalId', 12345)],
  ])('should parse %s', (text, expected) => {
    expect(parseFilter(text)).toEqual(expected);
  });

  it.each<[string, Filter]>([
    [
      'userName eq "bjensen" or active eq false and userName eq "Jsmith"',
      { kind: 'or', left: eq('userName', 'bjensen'), right: { kind: 'and', left: eq('active', false), right: eq('userName', 'Jsmith') } },
    ],
    [
      'a eq 1 and b eq 2 or c eq 3',
      { kind: 'or', left: { kind: 'and', left: eq('a', 1), right: eq('b', 2) }, right: eq('c', 3) },
    ],
    [
      'a eq 1 and b eq 2 and c eq 3',
      { kind: 'and', left: { kind: 'and', left: eq('a', 1), right: eq('b', 2) }, right: eq('c', 3) },
    ],
    [
      'not (userType eq "Intern") and active eq true',
      { kind: 'and', left: { kind: 'not', filter: eq('userType', 'Intern') }, right: eq('active', true) },
    ],
    [
      'title pr AND NOT(userType eq "Intern")',
      { kind: 'and', left: { kind: 'present', path: { attr: 'title' } }, right: { kind: 'not', filter: eq('userType', 'Intern') } },
    ],
    [
      '(a eq 1 or b eq 2) and c pr',
      { kind: 'and', left: { kind: 'or', left: eq('a', 1), right: eq('b', 2) }, right: { kind: 'present', path: { attr: 'c' } } },
    ],
    ['((a eq 1))', eq('a', 1)],
    [
      'emails[type eq "work" and value co "@example.com"]',
      {
        kind: 'valuePath',
        path: { attr: 'emails' },
        filter: { kind: 'and', left: eq('type', 'work'), right: { kind: 'compare', path: { attr: 'value' }, op: 'co', value: '@example.com' } },
      },
    ],
    [
      'emails[not (type eq "work")] or userName pr',
      {
        kind: 'or',
        left: { kind: 'valuePath', path: { attr: 'emails' }, filter: { kind: 'not', filter: eq('type', 'work') } },
        right: { kind: 'present', path: { attr: 'userName' } },
      },
    ],
    // Entra's `a[f].b op v` keeps both conditions on the same element.
    [
      'emails[type eq "work"].value eq "bjensen@example.com"',
      { kind: 'valuePath', path: { attr: 'emails' }, filter: { kind: 'and', left: eq('type', 'work'), right: eq('value', 'bjensen@example.com') } },
    ],
    [
      'members[value eq "urn:x:1.2"] or userName eq "a:b.c"',
      { kind: 'or', left: { kind: 'valuePath', path: { attr: 'members' }, filter: eq('value', 'urn:x:1.2') }, right: eq('userName', 'a:b.c') },
    ],
  ])('should respect precedence and grouping in %s', (text, expected) => {
    expect(parseFilter(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['"a \\"quoted\\" name"', 'a "quoted" name'],
    ['"back\\\\slash"', 'back\\slash'],
    ['"ends\\\\"', 'ends\\'],
    ['"caf\\u00e9"', 'café'],
    ['"caf\\u00E9"', 'café'],
    ['"tab\\there"', 'tab\there'],
    ['"\\/\\b\\f\\n\\r"', '/\b\f\n\r'],
    ['"\\ud83d\\ude00"', '😀'],
    ['"😀 Äß"', '😀 Äß'],
    ['"a ] ) ( [ and or"', 'a ] ) ( [ and or'],
    ['""', ''],
  ])('should decode the JSON string %s', (literal, decoded) => {
    expect(parseFilter(`userName eq ${literal}`)).toEqual(eq('userName', decoded));
  });

  it.each<[string, number, string]>([
    ['name.familyName eq2 "x"', 17, 'expected a comparison operator, found "eq2"'],
    ['userName eq', 12, 'expected a value (a quoted string, number, true, false or null), found end of input'],
    ['userName xx "a"', 10, 'expected a comparison operator, found "xx"'],
    ['(userName eq "a"', 17, 'expected ")" to close "(" at position 1, found end of input'],
    ['userName eq "a")', 16, 'expected "and", "or" or end of input, found ")"'],
    ['userName eq "a" userName eq "b"', 17, 'expected "and", "or" or end of input, found "userName"'],
    ['emails[type eq "work"', 22, 'expected "]" to close "[" at position 7, found end of input'],
    ['userName eq "abc', 13, 'unterminated string'],
    ['userName eq "abc\\', 17, 'unterminated string'],
    ['userName eq "a" and', 20, 'expected an attribute path, "(" or "not", found end of input'],
    ['', 1, 'expected an attribute path, "(" or "not", found end of input'],
    ['   ', 4, 'expected an attribute path, "(" or "not", found end of input'],
    [']', 1, 'expected an attribute path, "(" or "not", found "]"'],
    ["userName eq 'bjensen'", 13, 'expected a value (a quoted string, number, true, false or null), found "\'bjensen\'"'],
    ['userName eq and', 13, 'expected a value (a quoted string, number, true, false or null), found "and"'],
    ['userName eq (', 13, 'expected a value'],
    ['not userName eq "a"', 5, 'expected a comparison operator, found "userName"'],
    ['user@name eq "x"', 5, 'invalid character "@" in attribute path "user@name"'],
    ['a.b.c eq 1', 1, 'expected an attribute path, found "a.b.c"'],
    ['1abc eq 1', 1, 'expected an attribute path, found "1abc"'],
    ['urn:foo: eq 1', 1, 'expected an attribute path, found "urn:foo:"'],
    [':userName eq 1', 1, 'expected an attribute path'],
    ['userName eq "a\\x"', 15, 'invalid escape "\\x" in string'],
    ['userName eq "\\u12"', 14, 'invalid \\u escape: expected four hex digits'],
    ['userName eq "\\ud83d"', 14, 'unpaired surrogate escape in string'],
    ['userName eq "\\ud83d\\u0041"', 14, 'unpaired surrogate escape in string'],
    ['userName eq "\\ude00"', 14, 'unpaired surrogate escape in string'],
    ['userName eq "a\u0001"', 15, 'control character U+0001 in a string must be escaped'],
    ['n eq 1e999', 6, 'number 1e999 is out of range'],
    ['emails[type[value eq 1] pr]', 12, 'a valuePath cannot be nested inside another valuePath'],
    ['name.givenName[value eq 1]', 15, '"[" must follow an attribute, not the sub-attribute "name.givenName"'],
    ['emails[type eq "work"].1bad eq "x"', 23, 'expected a sub-attribute name after "]", found ".1bad"'],
    ['emails[type eq "work"].value', 29, 'expected a comparison operator, found end of input'],
  ])('should reject %j at position %d', (text, position, message) => {
    const error = parseError(text);
    expect(error.status).toBe(400);
    expect(error.scimType).toBe(ScimType.InvalidFilter);
    expect(error.detail).toContain(`Invalid filter at position ${position}: ${message}`);
  });

  it('should reject a filter that is not a string (a repeated query parameter)', () => {
    expect(parseError(['a pr', 'b pr'] as unknown as string).detail).toBe('Filter must be a single string');
  });

  it('should reject an unquoted value when bare words are turned off', () => {
    expect(parseError('userName eq bjensen', { allowBareWords: false }).detail).toBe(
      'Invalid filter at position 13: expected a value (a quoted string, number, true, false or null), found "bjensen"',
    );
  });

  describe('limits', () => {
    const nested = (depth: number): string => `${'('.repeat(depth)}a pr${')'.repeat(depth)}`;

    it.each([
      ['a 2049-character filter', `userName eq "${'x'.repeat(2035)}"`],
      ['a too-long filter with a syntax error (the length is checked first)', `"${'x'.repeat(2100)}`],
    ])('should reject %s as too long', (_name, text) => {
      const error = parseError(text);
      expect(error.scimType).toBe(ScimType.InvalidFilter);
      expect(error.detail).toBe(`Filter is too long: ${text.length} characters, the limit is 2048`);
    });

    it('should accept a filter of exactly maxLength characters', () => {
      const text = `userName eq "${'x'.repeat(2048 - 14)}"`;
      expect(text).toHaveLength(2048);
      expect(parseFilter(text)).toEqual(eq('userName', 'x'.repeat(2034)));
    });

    it('should honour a custom maxLength', () => {
      expect(parseError('userName pr', { maxLength: 10 }).detail).toBe('Filter is too long: 11 characters, the limit is 10');
    });

    it('should accept nesting up to maxDepth', () => {
      expect(parseFilter(nested(16))).toEqual({ kind: 'present', path: { attr: 'a' } });
    });

    it.each([
      ['parentheses', nested(17), 17],
      ['not', `${'not ('.repeat(17)}a pr${')'.repeat(17)}`, 85],
      ['a valuePath', `${'('.repeat(16)}emails[type pr]${')'.repeat(16)}`, 23],
    ])('should reject nesting deeper than maxDepth through %s', (_name, text, position) => {
      expect(parseError(text).detail).toBe(`Invalid filter at position ${position}: nesting is deeper than 16 levels`);
    });

    it('should reject 5000 nested parentheses with invalidFilter, not a stack overflow', () => {
      const error = parseError(nested(5000), { maxLength: 20_000 });
      expect(error.scimType).toBe(ScimType.InvalidFilter);
    });

    it('should honour a custom maxDepth', () => {
      expect(parseError(nested(3), { maxDepth: 2 }).detail).toContain('nesting is deeper than 2 levels');
    });
  });

  it.each([
    'userName eq "a \\"q\\" \\\\ name"',
    'title pr and not (userType eq "Intern") or emails[type eq "work" and primary eq true]',
    '(a eq 1 or b eq 2) and (c pr or not (d le 3.5))',
    `${ENT}:manager.value ne null`,
  ])('should give back an equivalent filter from formatFilter for %s', (text) => {
    const ast = parseFilter(text);
    expect(parseFilter(formatFilter(ast))).toEqual(ast);
  });
});

describe('parsePatchPath', () => {
  it.each<[string, PatchPath]>([
    ['members', { attrPath: { attr: 'members' } }],
    ['name.givenName', { attrPath: { attr: 'name', sub: 'givenName' } }],
    ['NAME.GIVENNAME', { attrPath: { attr: 'NAME', sub: 'GIVENNAME' } }],
    [`${ENT}:employeeNumber`, { attrPath: { uri: ENT, attr: 'employeeNumber' } }],
    [`${ENT}:manager.value`, { attrPath: { uri: ENT, attr: 'manager', sub: 'value' } }],
    // A bare extension URN splits at its last ':'; the registry resolves the whole text.
    [ENT, { attrPath: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0', attr: 'User' } }],
    ['urn:acme:scim:v1.2', { attrPath: { uri: 'urn:acme:scim', attr: 'v1.2' } }],
    ['members[value eq "2819c223"]', { attrPath: { attr: 'members' }, valueFilter: eq('value', '2819c223') }],
    ['members[value eq "urn:x:1"]', { attrPath: { attr: 'members' }, valueFilter: eq('value', 'urn:x:1') }],
    ['emails[type eq "work"].value', { attrPath: { attr: 'emails' }, valueFilter: eq('type', 'work'), subAttr: 'value' }],
    [
      'emails[type eq "work" and primary eq true].display',
      {
        attrPath: { attr: 'emails' },
        valueFilter: { kind: 'and', left: eq('type', 'work'), right: eq('primary', true) },
        subAttr: 'display',
      },
    ],
    ['members[$ref pr]', { attrPath: { attr: 'members' }, valueFilter: { kind: 'present', path: { attr: '$ref' } } }],
  ])('should parse %s', (text, expected) => {
    const parsed = parsePatchPath(text);
    expect(parsed).toEqual(expected);
    expect(formatPatchPath(parsed)).toBe(text);
  });

  it.each<[string, number, string]>([
    ['', 1, 'expected an attribute path, found end of input'],
    ['[value eq "x"]', 1, 'expected an attribute path, found "["'],
    ['members[value eq "x"', 21, 'expected "]" to close "[" at position 8, found end of input'],
    ['emails[type eq "work"]value', 23, 'expected "." followed by a sub-attribute, or end of input, found "value"'],
    ['emails[type eq "work"].value.x', 23, 'expected a sub-attribute name after "]", found ".value.x"'],
    ['emails[type eq "work"].value eq "x"', 30, 'expected end of input, found "eq"'],
    ['members[value eq "x"] extra', 23, 'expected "." followed by a sub-attribute, or end of input, found "extra"'],
    ['name.givenName.x', 1, 'expected an attribute path, found "name.givenName.x"'],
    ['userName eq "x"', 10, 'expected "[" or end of input, found "eq"'],
    ['members[emails[type eq 1]]', 15, 'a valuePath cannot be nested inside another valuePath'],
    ['name.givenName[x eq 1]', 15, '"[" must follow an attribute, not the sub-attribute "name.givenName"'],
    ['members[value xx "x"]', 15, 'expected a comparison operator, found "xx"'],
  ])('should reject %j at position %d with invalidPath', (text, position, message) => {
    let caught: unknown;
    try {
      parsePatchPath(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScimError);
    expect((caught as ScimError).scimType).toBe(ScimType.InvalidPath);
    expect((caught as ScimError).detail).toBe(`Invalid path at position ${position}: ${message}`);
  });

  it('should reject a path longer than maxLength before parsing it', () => {
    expect(() => parsePatchPath(`members[value eq "${'x'.repeat(3000)}`)).toThrow('Path is too long: 3018 characters, the limit is 2048');
  });
});
