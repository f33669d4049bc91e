import { normaliseMatching, resolveProfile } from '../../config/profile-config.dto.js';
import { matchFilter, parseMatchPath, readMatchValue } from './matching.js';
import { projectRemote } from './read-back.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const payload = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  userName: 'Ann@Corp.example.com',
  externalId: 'c-1',
  name: { givenName: 'Ann' },
  emails: [{ value: 'ann.home@example.org', type: 'home' }, { value: 'ann@example.com', type: 'work', primary: true }],
  [ENT]: { employeeNumber: '1001' },
};

describe('matching paths', () => {
  it.each([
    ['userName', 'Ann@Corp.example.com', 'userName eq "Ann@Corp.example.com"', false],
    ['externalId', 'c-1', 'externalId eq "c-1"', false],
    ['name.givenName', 'Ann', 'name.givenName eq "Ann"', false],
    ['emails[primary eq true].value', 'ann@example.com', 'emails.value eq "ann@example.com"', true],
    ['emails[type eq "home"].value', 'ann.home@example.org', 'emails.value eq "ann.home@example.org"', true],
    [`${ENT}:employeeNumber`, '1001', `${ENT}:employeeNumber eq "1001"`, false],
  ])('should read %s from the mapped payload and send it as an attribute-path filter', (raw, value, filter, checkLocally) => {
    const path = parseMatchPath(raw);
    expect(readMatchValue(payload, path)).toBe(value);
    expect(matchFilter(path, value, 'attributePath')).toEqual({ filter, checkLocally });
  });

  it('should send a valuePath filter when the profile asks for it', () => {
    const path = parseMatchPath('emails[primary eq true].value');
    expect(matchFilter(path, 'ann@example.com', 'valuePath')).toEqual({ filter: 'emails[primary eq true and value eq "ann@example.com"]', checkLocally: false });
  });

  it('should find no value when the payload lacks the attribute or the element', () => {
    expect(readMatchValue(payload, parseMatchPath('nickName'))).toBeUndefined();
    expect(readMatchValue(payload, parseMatchPath('emails[type eq "other"].value'))).toBeUndefined();
  });
});

describe('matching and profile config', () => {
  it.each([
    [undefined, { User: ['userName'], Group: ['displayName'] }, []],
    [['userName', 'emails[primary eq true].value'], { User: ['userName', 'emails[primary eq true].value'], Group: ['displayName'] }, []],
    [{ Group: ['externalId'] }, { User: ['userName'], Group: ['externalId'] }, []],
    [['user name'], { User: ['user name'], Group: ['displayName'] }, ['t.matching: "user name" is not an attribute path (attr, attr.sub, urn:…:attr or attr[sub eq "v"].sub)']],
    [[], { User: ['userName'], Group: ['displayName'] }, ['t.matching: must be a non-empty list of attribute paths']],
    [{ Users: ['x'] }, { User: ['userName'], Group: ['displayName'] }, ['t.matching.Users: unknown key (User or Group)']],
  ])('should normalise matching %j', (raw, expected, problems) => {
    const found: string[] = [];
    expect(normaliseMatching(raw, 't', found)).toEqual(expected);
    expect(found).toEqual(problems);
  });

  it.each([
    [undefined, { preset: 'generic', putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: 10_000 }],
    [{ preset: 'put-only' }, { preset: 'put-only', putOnly: true, groupMembershipVia: 'put', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: 10_000 }],
    [{ putOnly: true, groupMembershipVia: 'patch' }, { preset: 'generic', putOnly: true, groupMembershipVia: 'put', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: 10_000 }],
    [{ preset: 'eq-only', matchFilter: 'valuePath' }, { preset: 'eq-only', putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: 10_000 }],
    [{ membershipChunkSize: 250 }, { preset: 'generic', putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 250, matchFilter: 'attributePath', filter: true, matchScanLimit: 10_000 }],
    [{ preset: 'no-filter' }, { preset: 'no-filter', putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: false, matchScanLimit: 10_000 }],
    [{ filter: false, matchScanLimit: 500 }, { preset: 'generic', putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: false, matchScanLimit: 500 }],
  ] as const)('should resolve profile %j', (dto, expected) => {
    expect(resolveProfile(dto as never)).toEqual(expected);
  });
});

describe(projectRemote.name, () => {
  it('should keep only the attributes the push owns, per sub-attribute for complex ones', () => {
    const remote = {
      id: 'r1', meta: { created: 'x' }, userName: 'ann', title: 'Hacked', nickName: 'app-only',
      name: { givenName: 'Ann', formatted: 'Ann X' }, groups: [{ value: 'g' }],
      [ENT]: { department: 'Sales', costCenter: 'app' },
    };
    const desired = { schemas: [], userName: 'ann', title: 'Engineer', name: { givenName: 'Ann' }, [ENT]: { department: 'R&D' } };
    const previous = { userName: 'ann', displayName: 'Old', title: 'Engineer' };
    expect(projectRemote(remote, desired, previous)).toEqual({
      userName: 'ann', title: 'Hacked', name: { givenName: 'Ann' }, [ENT]: { department: 'Sales' },
    });
  });
});
