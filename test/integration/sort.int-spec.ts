import { ResourceQueryService } from '../../src/scim/resource-query.service.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * sortBy / sortOrder (RFC 7644 §3.4.2.3) done by the database over normalised values, on SQLite and
 * PostgreSQL alike: case-insensitive attribute names, case-folded values unless caseExact, code
 * point order (no locale), the primary (else first) value of a multi-valued attribute, unassigned
 * values last when ascending, ties in creation order; paging applies after sorting.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const USERS = [
  { userName: 'bob', displayName: 'Émile', externalId: 'b', emails: [{ value: 'z@x' }, { value: 'A@x', primary: true }], [ENT]: { employeeNumber: '10' } },
  { userName: 'Alice', displayName: 'zoe', externalId: 'B', title: 'B', emails: [{ value: 'm@x', type: 'work' }], [ENT]: { employeeNumber: '9' } },
  { userName: 'carl', displayName: 'a\u0301dam', externalId: 'a', title: 'a' },
  { userName: 'ß', displayName: 'Zed', externalId: 'A', title: '', emails: [{ value: 'b@x' }, { value: 'c@x', primary: false }] },
];

describe.each(storeKinds())('sorting (%s)', (db) => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ db });
    for (const u of USERS) {
      const res = await h.scim('POST', '/Users', { schemas: u[ENT] ? [USER, ENT] : [USER], ...u });
      expect(res.status).toBe(201);
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  async function order(params: Record<string, unknown>): Promise<string[]> {
    const page = await h.get(ResourceQueryService).list('User', params);
    return page.resources.map((r) => r.doc.userName as string);
  }

  it.each<[string, Record<string, unknown>, string[]]>([
    ['no sortBy: creation order', {}, ['bob', 'Alice', 'carl', 'ß']],
    ['userName, folded (ß → ss)', { sortBy: 'userName' }, ['Alice', 'bob', 'carl', 'ß']],
    ['attribute name in any case', { sortBy: 'USERNAME', sortOrder: 'Ascending' }, ['Alice', 'bob', 'carl', 'ß']],
    ['URN-qualified core name', { sortBy: `${USER}:userName`, sortOrder: 'descending' }, ['ß', 'carl', 'bob', 'Alice']],
    ['code point order after NFC and folding', { sortBy: 'displayName' }, ['ß', 'Alice', 'carl', 'bob']],
    ['caseExact externalId', { sortBy: 'externalId' }, ['ß', 'Alice', 'carl', 'bob']],
    ['multi-valued: primary value, else the first', { sortBy: 'emails.value' }, ['bob', 'ß', 'Alice', 'carl']],
    ['complex without sub-attribute sorts by value', { sortBy: 'Emails' }, ['bob', 'ß', 'Alice', 'carl']],
    ['missing first when descending', { sortBy: 'emails.value', sortOrder: 'descending' }, ['carl', 'Alice', 'ß', 'bob']],
    ['"" counts as unassigned; ties in creation order', { sortBy: 'title' }, ['carl', 'Alice', 'bob', 'ß']],
    ['extension attribute, as strings', { sortBy: `${ENT}:employeeNumber` }, ['bob', 'Alice', 'carl', 'ß']],
    ['sorted before paging', { sortBy: 'userName', startIndex: 2, count: 2 }, ['bob', 'carl']],
    ['with a filter', { sortBy: 'userName', sortOrder: 'descending', filter: 'emails pr' }, ['ß', 'bob', 'Alice']],
    ['sortOrder alone is ignored', { sortOrder: 'descending' }, ['bob', 'Alice', 'carl', 'ß']],
  ])('%s', async (_name, params, expected) => {
    expect(await order(params)).toEqual(expected);
  });

  it('sorts dateTimes as instants (meta.lastModified, descending)', async () => {
    const page = await h.get(ResourceQueryService).list('User', { sortBy: 'meta.LASTMODIFIED', sortOrder: 'descending' });
    const times = page.resources.map((r) => Date.parse(r.lastModified));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it.each<[string, Record<string, unknown>]>([
    ['unknown attribute', { sortBy: 'nope' }],
    ['complex attribute without value', { sortBy: 'name' }],
    ['whole extension', { sortBy: ENT }],
    ['never-returned attribute', { sortBy: 'password' }],
    ['membership (not indexed)', { sortBy: 'groups.value' }],
    ['meta.location (depends on the request)', { sortBy: 'meta.location' }],
    ['bad sortOrder', { sortBy: 'userName', sortOrder: 'up' }],
    ['non-string sortBy', { sortBy: ['userName'] }],
  ])('400 invalidValue: %s', async (_name, params) => {
    await expect(h.get(ResourceQueryService).list('User', params)).rejects.toMatchObject({ status: 400, scimType: 'invalidValue' });
  });
});
