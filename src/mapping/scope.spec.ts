import { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA as ENT, USER_SCHEMA } from '../scim/scim.constants.js';
import { compileGroupSelection, compileUserScope, GroupRef } from './scope.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';

const registry = new SchemaRegistry();

const jane = {
  schemas: [USER_SCHEMA, ENT],
  userName: 'jane@acme.com',
  active: true,
  emails: [{ value: 'jane@acme.com', type: 'work', primary: true }, { value: 'jane@gmail.example', type: 'home' }],
  meta: { created: '2024-06-01T10:00:00+02:00', lastModified: '2025-03-01T00:00:00Z' },
  [ENT]: { department: 'R&D', employeeNumber: '42' },
};
const slack: GroupRef[] = [{ value: 'g-1', display: 'eng-core' }, { value: 'g-2', display: 'Slack-Users' }];

describe(compileUserScope.name, () => {
  it.each<[string, string, GroupRef[] | undefined, boolean]>([
    ['should match an enterprise attribute and a boolean', `${ENT}:department eq "R&D" and active eq true`, undefined, true],
    ['should compare strings ignoring case where caseExact is false', `${ENT}:department eq "r&d"`, undefined, true],
    ['should not match another department', `${ENT}:department eq "Sales"`, undefined, false],
    ['should match one element of a multi-valued attribute with a valuePath', 'emails[type eq "work" and value ew "@acme.com"]', undefined, true],
    ['should not combine conditions across elements in a valuePath', 'emails[type eq "home" and value ew "@acme.com"]', undefined, false],
    ['should compare dateTimes as instants across offsets', 'meta.created lt "2024-06-01T08:30:00Z"', undefined, true],
    ['should compare dateTimes as instants (other side)', 'meta.created gt "2024-06-01T08:30:00Z"', undefined, false],
    ['should match a group by display name (group-based assignment)', 'groups.display eq "slack-users"', slack, true],
    ['should match a group by id', 'groups.value eq "g-1"', slack, true],
    ['should not match when the user left the group', 'groups.display eq "slack-users"', [slack[0]!], false],
    ['should not match with no groups', 'groups pr', [], false],
    ['should read groups through the core URN', `${USER_SCHEMA}:groups.value eq "g-2"`, slack, true],
    ['should combine groups with other attributes', 'groups.display sw "eng-" and not (active eq false)', slack, true],
  ])('%s', (_name, filter, groups, expected) => {
    expect(compileUserScope(filter, registry).inScope(jane, groups)).toBe(expected);
  });

  it('should put every user in scope without a filter', () => {
    const scope = compileUserScope(undefined, registry);
    expect(scope.inScope({}, [])).toBe(true);
    expect(scope.referencesGroups).toBe(false);
  });

  it.each<[string, boolean]>([
    ['groups.display eq "x"', true],
    ['active eq true or (groups[value eq "g-1"])', true],
    [`${USER_SCHEMA}:groups.value eq "g"`, true],
    [`${ENT}:department eq "groups"`, false],
    ['userName sw "groups"', false],
  ])('should tell whether %s references groups', (filter, expected) => {
    expect(compileUserScope(filter, registry).referencesGroups).toBe(expected);
  });

  it.each<[string, string]>([
    ['a syntax error', 'userName eq'],
    ['an unknown attribute', 'departmnt eq "R&D"'],
    ['an ordering on a boolean', 'active gt true'],
    ['a malformed date', 'meta.created gt "yesterday"'],
  ])('should reject %s with an InvalidFilter MappingError', (_name, filter) => {
    const call = () => compileUserScope(filter, registry);
    expect(call).toThrow(MappingError);
    expect(call).toThrow(expect.objectContaining({ code: MappingErrorCode.InvalidFilter, path: filter }));
  });
});

describe(compileGroupSelection.name, () => {
  const eng = { displayName: 'eng-platform' };
  const sales = { displayName: 'Sales' };
  it.each<[string, Parameters<typeof compileGroupSelection>[0], boolean, boolean]>([
    ['should select every group with all', 'all', true, true],
    ['should select no group with none', 'none', false, false],
    ['should select by a filter on the canonical group', { filter: 'displayName sw "eng-"' }, true, false],
  ])('%s', (_name, selection, engSelected, salesSelected) => {
    const selected = compileGroupSelection(selection, registry);
    expect([selected(eng), selected(sales)]).toEqual([engSelected, salesSelected]);
  });

  it('should reject a filter on an attribute groups do not have', () => {
    expect(() => compileGroupSelection({ filter: 'userName eq "x"' }, registry)).toThrow(expect.objectContaining({ code: MappingErrorCode.InvalidFilter }));
  });
});
