import { ENTERPRISE_USER_SCHEMA as ENT, USER_SCHEMA } from '../scim/scim.constants.js';
import { compileExpression, EXPRESSION_LIMITS } from './expression.js';
import { JSONATA_BUILTINS } from './expression-functions.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';
import jsonata from 'jsonata';

const doc = {
  schemas: [USER_SCHEMA, ENT],
  id: 'u-1',
  userName: 'zoe.lukasz@example.com',
  name: { givenName: 'Zoë', familyName: 'Łukasz-Straße' },
  emails: [{ value: 'zoe@example.com', type: 'work', primary: true }, { value: 'z@home.example', type: 'home' }],
  phoneNumbers: [{ value: ' +49 30 1234\u00a0567 ', type: 'work' }],
  userType: 'Contractor',
  active: true,
  password: '$argon2id$hash',
  meta: { created: '2024-02-29T23:30:00Z' },
  [ENT]: { department: 'R&D', employeeNumber: '0042' },
  'urn:acme:params:scim:schemas:extension:hr:1.0:User': { costCenter: 'CC-7' },
};
const scope = { id: 'u-1', resourceType: 'User' as const, groups: [{ value: 'g-1', display: 'eng-core' }, { value: 'g-2', display: 'slack-users' }] };
const run = (text: string) => compileExpression(text, 'app.mappings[0] title').evaluate(doc, scope);

describe(compileExpression.name, () => {
  it.each<[string, string, unknown]>([
    ['should concatenate and call JSONata built-ins', 'name.givenName & " " & $uppercase(name.familyName)', 'Zoë ŁUKASZ-STRASSE'],
    ['should read a multi-valued attribute through a JSONata predicate', 'emails[primary].value', 'zoe@example.com'],
    ['should read an extension by its URN in backticks', '`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.department', 'R&D'],
    ['should offer the enterprise extension as $enterprise', '$enterprise.employeeNumber', '0042'],
    ['should read any extension through $extension(urn), ignoring case', '$extension("URN:acme:params:scim:schemas:extension:hr:1.0:User").costCenter', 'CC-7'],
    ['should offer the groups the caller passed as $groups and as groups', '[$groups.display, groups[0].value]', ['eng-core', 'slack-users', 'g-1']],
    ['should offer the canonical id and resource type', '$resourceType & "/" & $id', 'User/u-1'],
    ['should give undefined for no match', 'nickName', undefined],
    ['should never show the stored password hash', 'password', undefined],
    ['should allow functions the expression defines', '($twice := function($s) { $s & $s }; $twice("ab"))', 'abab'],
    ['should strip diacritics', '$normalizeDiacritics(name.givenName & " " & name.familyName)', 'Zoe Lukasz-Strasse'],
    ['should strip every kind of space', '$stripSpaces(phoneNumbers[type="work"].value)', '+49301234567'],
    ['should format a date in UTC', '$formatDate(meta.created, "[Y0001]-[M01]-[D01]")', '2024-02-29'],
    ['should format a date in a fixed offset', '$formatDate(meta.created, "[Y0001]-[M01]-[D01] [H01]:[m01]", "+0100")', '2024-03-01 00:30'],
    ['should format a date in an IANA zone', '$formatDate(meta.created, "[D1] [MNn] [Y]", "Europe/Berlin")', '1 March 2024'],
    ['should format epoch milliseconds', '$formatDate(0, "[Y0001]")', '1970'],
    ['should give absent for an absent date', '$formatDate(nickName, "[Y0001]")', undefined],
    ['should switch on a value', '$switch(userType, "Employee", "E", "Contractor", "C", "X")', 'C'],
    ['should fall back to the switch default', '$switch("Intern", "Employee", "E", "X")', 'X'],
    ['should give absent from a switch without match or default', '$switch("Intern", "Employee", "E")', undefined],
    ['should compare switch cases strictly', '$switch(1, "1", "string", 1, "number")', 'number'],
    ['should coalesce past absent, null and empty values', '$coalesce(nickName, null, "", [], name.givenName, "x")', 'Zoë'],
    ['should give absent when nothing coalesces', '$coalesce(nickName, "")', undefined],
    ['should return plain arrays for sequences', 'emails.type', ['work', 'home']],
    ['should return objects', '{ "value": userName, "primary": true }', { value: 'zoe.lukasz@example.com', primary: true }],
  ])('%s', async (_name, text, expected) => {
    await expect(run(text)).resolves.toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['a syntax error', 'name.givenName &', 'S0207'],
    ['an unknown function', '$upper(userName)', 'unknown function $upper'],
    ['a misspelt added function', '$normaliseDiacritics(userName)', 'unknown function $normaliseDiacritics'],
    ['$eval, which would escape the start-time checks', '$eval("1+1")', 'unknown function $eval'],
  ])('should reject %s at compile time, naming the entry', (_name, text, reason) => {
    const call = () => compileExpression(text, 'app.mappings[3] displayName');
    expect(call).toThrow(MappingError);
    expect(call).toThrow(expect.objectContaining({ code: MappingErrorCode.InvalidExpression, path: 'app.mappings[3] displayName' }));
    expect(call).toThrow(reason);
  });

  it.each<[string, string, string]>([
    ['a type error', 'userName + 1', 'T2001'],
    ['$error', '$error("no department")', 'no department'],
    ['a bad date', '$formatDate(userName, "[Y]")', 'not an ISO 8601 date'],
    ['an unknown timezone', '$formatDate(meta.created, "[Y]", "Mars/Olympus")', 'unknown timezone'],
    ['a function as result', '$uppercase', 'the result is a function'],
  ])('should fail with ExpressionFailed on %s at evaluation', async (_name, text, reason) => {
    const p = run(text);
    await expect(p).rejects.toThrow(MappingError);
    await expect(run(text)).rejects.toMatchObject({ code: MappingErrorCode.ExpressionFailed, message: expect.stringContaining(reason) });
  });

  it('should stop a runaway recursion by depth', async () => {
    await expect(run('($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))'))
      .rejects.toMatchObject({ code: MappingErrorCode.ExpressionFailed, message: expect.stringContaining('D1011') });
  });

  it('should stop a long-running expression by time', async () => {
    const started = Date.now();
    await expect(run('$count([1..5000].($map([1..5000], function($x) { $x * 2 })))'))
      .rejects.toMatchObject({ code: MappingErrorCode.ExpressionFailed, message: expect.stringMatching(/D1012|D2015/) });
    expect(Date.now() - started).toBeLessThan(EXPRESSION_LIMITS.timeoutMs * 20);
  });

  it('should match a catastrophic-backtracking regex in linear time (ReDoS)', async () => {
    const e = compileExpression('$contains(userName, /^(a+)+$/)', 'app.mappings[0] title');
    const started = Date.now();
    // Backtracking RegExp: ~50 s for this input (2^30 paths); RE2: one pass.
    await expect(e.evaluate({ userName: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' }, scope)).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(100);
    await expect(e.evaluate({ userName: 'a'.repeat(5_000) + '!' }, scope)).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(e.evaluate({ userName: 'aaaa' }, scope)).resolves.toBe(true);
  });

  it.each<[string, string, unknown]>([
    ['$match with groups and indices', '$match("ab-12 cd-345", /([a-z]+)-(\\d+)/)', [
      { match: 'ab-12', index: 0, groups: ['ab', '12'] },
      { match: 'cd-345', index: 6, groups: ['cd', '345'] },
    ]],
    ['$replace with group references', '$replace(userName, /^([^.]+)\\.([^@]+)@.*$/, "$2, $1")', 'lukasz, zoe'],
    ['$replace over every match', '$replace("a1b22c", /\\d+/, "#")', 'a#b#c'],
    ['$contains with the i flag', '$contains(userType, /^contractor$/i)', true],
    ['$split on a regex', '$split("a, b;c", /[,;]\\s*/)', ['a', 'b', 'c']],
    ['a regex as a predicate on an array', 'emails[$contains(value, /home/)].type', 'home'],
    ['$match after a non-BMP character (UTF-16 indices)', '$match("😀ä", /ä/).index', 2],
    ['the m flag', '$match("x\\ny", /^y$/m).match', 'y'],
  ])('should keep regex semantics on the linear engine: %s', async (_name, text, expected) => {
    await expect(run(text)).resolves.toEqual(expected);
  });

  it.each([['a backreference', '$contains(userName, /(a)\\1/)'], ['a lookahead', '$contains(userName, /a(?=b)/)']])(
    'should reject a regex with %s at compile time (RE2 cannot run it in linear time)',
    (_name, text) => {
      const call = () => compileExpression(text, 'app.mappings[2] title');
      expect(call).toThrow(expect.objectContaining({ code: MappingErrorCode.InvalidExpression, path: 'app.mappings[2] title' }));
      expect(call).toThrow('no backreferences or lookaround');
    },
  );

  it('should evaluate concurrently without sharing state', async () => {
    const e = compileExpression('userName & "-" & $id', 'x');
    const results = await Promise.all(['a', 'b', 'c'].map(id => e.evaluate({ userName: id }, { id, resourceType: 'User' })));
    expect(results).toEqual(['a-a', 'b-b', 'c-c']);
  });

  it('should list only names that JSONata really defines as built-ins', async () => {
    for (const name of JSONATA_BUILTINS) expect(await jsonata(`$${name}`).evaluate({})).toMatchObject({ _jsonata_function: true });
  });
});
