import { compileFilter } from '../../src/scim/filter/filter.evaluator.js';
import { parseFilter } from '../../src/scim/filter/filter.parser.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * Group `members` and User `groups` are answered from group_member, not resource_attr: the SQL
 * result must still equal evaluateFilter over the resources as served; the sub-attributes SQL cannot
 * answer are a 400, never a silently wrong list.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

describe.each(storeKinds())('membership filters (%s)', (db) => {
  const registry = new SchemaRegistry();
  let h: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await Harness.start({ db });
    for (const name of ['u1', 'u2', 'u3']) ids[name] = (await h.scim('POST', '/Users', { schemas: [USER], userName: name })).body.id;
    ids.g1 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'g1', members: [{ value: ids.u1 }, { value: ids.u2 }] })).body.id;
    ids.g2 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'g2', members: [{ value: ids.u1 }, { value: ids.g1, type: 'Group' }] })).body.id;
    ids.g3 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'g3' })).body.id;
  });

  afterAll(async () => {
    await h?.close();
  });

  const fill = (f: string) => f.replace(/\{(\w+)\}/g, (_, k: string) => ids[k]!);

  it.each<[string, string]>([
    ['/Groups', 'members.value eq "{u1}"'],
    ['/Groups', 'members eq "{g1}"'],
    ['/Groups', 'members.value ne "{u2}"'],
    ['/Groups', 'members pr'],
    ['/Groups', 'members eq null'],
    ['/Groups', 'not (members.value pr) or displayName eq "g1"'],
    ['/Users', 'groups.value eq "{g1}"'],
    ['/Users', 'groups eq "{g1}" and not (groups eq "{g2}")'],
    ['/Users', 'groups pr'],
    ['/Users', 'groups eq null'],
  ])('%s?filter=%s', async (endpoint, template) => {
    const filter = fill(template);
    const all = (await h.scim('GET', `${endpoint}?count=1000`)).body.Resources as Array<Record<string, unknown>>;
    const predicate = compileFilter(parseFilter(filter), registry, endpoint === '/Users' ? 'User' : 'Group');
    const expected = all.filter((r) => predicate(r)).map((r) => r.id).sort();
    const res = await h.scim('GET', `${endpoint}?filter=${encodeURIComponent(filter)}&count=1000`);
    expect(res.status).toBe(200);
    expect((res.body.Resources as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });

  it.each([['/Groups', 'members.type eq "User"'], ['/Groups', 'members[value eq "x"]'], ['/Users', 'groups.display eq "g1"']])('%s?filter=%s is a 400', async (endpoint, filter) => {
    const res = await h.scim('GET', `${endpoint}?filter=${encodeURIComponent(filter)}`);
    expect({ status: res.status, scimType: res.body.scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
  });

  it('keeps meta.version and meta.lastModified filterable after a membership-only change', async () => {
    const patched = await h.scim('PATCH', `/Groups/${ids.g3}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.u3 }] }],
    });
    expect([200, 204]).toContain(patched.status);
    const { version, lastModified } = (await h.scim('GET', `/Groups/${ids.g3}`)).body.meta;
    for (const filter of [`meta.version eq ${JSON.stringify(version)}`, `meta.lastModified eq "${lastModified}" and members eq "${ids.u3}"`]) {
      const res = await h.scim('GET', `/Groups?filter=${encodeURIComponent(filter)}`);
      expect({ filter, ids: res.body.Resources?.map((r: { id: string }) => r.id) }).toEqual({ filter, ids: [ids.g3] });
    }
  });
});
