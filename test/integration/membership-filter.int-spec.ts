import { compileFilter } from '../../src/scim/filter/filter.evaluator.js';
import { parseFilter } from '../../src/scim/filter/filter.parser.js';
import { ResourceQueryService } from '../../src/scim/resource-query.service.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';
import { withMemberDisplay } from '../utils/membership-view.js';

/**
 * Group `members` and User `groups` are answered from group_member, not resource_attr: the SQL
 * result must equal evaluateFilter over the resources as served, with each member's `display` the
 * member's current displayName (else its userName), as the filter compiler defines it. `$ref` and
 * `meta.location` depend on the request's base URL: given one they agree too; without one they are
 * a clear 400.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const BASE = 'https://idp.example.com/scim/v2';

describe.each(storeKinds())('membership filters (%s)', (db) => {
  const registry = new SchemaRegistry();
  let h: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await Harness.start({ db });
    ids.u1 = (await h.scim('POST', '/Users', { schemas: [USER], userName: 'u1', displayName: 'Ärger Eins' })).body.id;
    ids.u2 = (await h.scim('POST', '/Users', { schemas: [USER], userName: 'U2' })).body.id;
    ids.u3 = (await h.scim('POST', '/Users', { schemas: [USER], userName: 'u3', displayName: '' })).body.id;
    ids.g1 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'g1', members: [{ value: ids.u1 }, { value: ids.u2 }] })).body.id;
    ids.g2 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Straße', members: [{ value: ids.u1 }, { value: ids.g1, type: 'Group' }] })).body.id;
    ids.g3 = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'g3' })).body.id;
  });

  afterAll(async () => {
    await h?.close();
  });

  const fill = (f: string) => f.replace(/\{(\w+)\}/g, (_, k: string) => ids[k]!);

  /** Every resource of both endpoints as served, Group members with their display. */
  async function servedAll(): Promise<{ users: Array<Record<string, unknown>>; groups: Array<Record<string, unknown>> }> {
    const users = (await h.scim('GET', '/Users?count=1000')).body.Resources as Array<Record<string, unknown>>;
    const groups = (await h.scim('GET', '/Groups?count=1000')).body.Resources as Array<Record<string, unknown>>;
    return { users, groups: withMemberDisplay(groups, [...users, ...groups]) };
  }

  it.each<[string, string]>([
    ['/Groups', 'members.value eq "{u1}"'],
    ['/Groups', 'members eq "{g1}"'],
    ['/Groups', 'members.value ne "{u2}"'],
    ['/Groups', 'members pr'],
    ['/Groups', 'members eq null'],
    ['/Groups', 'not (members.value pr) or displayName eq "g1"'],
    ['/Groups', 'members.value sw "{u1}"'],
    ['/Groups', 'members.type eq "group"'],
    ['/Groups', 'members.type ne "User"'],
    ['/Groups', 'members.display eq "ärger eins"'],
    ['/Groups', 'members.display eq "u2"'],
    ['/Groups', 'members.display co "G1"'],
    ['/Groups', 'members.display sw "ÄR" and members.display pr'],
    ['/Groups', 'members.display gt "t"'],
    ['/Groups', 'members[type eq "User" and display eq "U2"]'],
    ['/Groups', 'members[type eq "Group" or value eq "{u2}"]'],
    ['/Groups', 'members[not (display eq "ärger eins")]'],
    ['/Groups', 'members[display pr] and not (members[type eq "Group"])'],
    ['/Groups', 'meta.resourceType eq "Group" and displayName sw "G"'],
    ['/Groups', 'meta.resourceType ne "Group" or members.display ew "eins"'],
    ['/Users', 'groups.value eq "{g1}"'],
    ['/Users', 'groups eq "{g1}" and not (groups eq "{g2}")'],
    ['/Users', 'groups pr'],
    ['/Users', 'groups eq null'],
    ['/Users', 'groups.display eq "G1"'],
    ['/Users', 'groups.display eq "STRASSE"'],
    ['/Users', 'groups.display co "ss" or groups.display ne "g1"'],
    ['/Users', 'groups.type eq "direct"'],
    ['/Users', 'groups.type ne "direct"'],
    ['/Users', 'groups[display eq "g1" and value eq "{g1}"]'],
    ['/Users', 'groups[type eq "direct" and not (display eq "g1")]'],
    ['/Users', 'not (meta.resourceType eq "user") and groups pr'],
    ['/Users', 'meta.created le "9999-01-01T00:00:00Z" and meta.resourceType eq "User"'],
  ])('%s?filter=%s agrees with evaluateFilter', async (endpoint, template) => {
    const filter = fill(template);
    const { users, groups } = await servedAll();
    const all = endpoint === '/Users' ? users : groups;
    const predicate = compileFilter(parseFilter(filter), registry, endpoint === '/Users' ? 'User' : 'Group');
    const expected = all.filter((r) => predicate(r)).map((r) => r.id).sort();
    const res = await h.scim('GET', `${endpoint}?filter=${encodeURIComponent(filter)}&count=1000`);
    expect(res.status).toBe(200);
    expect((res.body.Resources as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(expected);
    // A positive case that selects nothing would prove little.
    if (!/ne |eq null|not \(/.test(template)) expect(expected.length).toBeGreaterThan(0);
  });

  it.each<[string, string]>([
    ['Group', 'members.$ref eq "{base}/Users/{u1}"'],
    ['Group', 'members.$ref eq "{BASE}/groups/{g1}"'],
    ['Group', 'members[$ref ew "/Groups/{g1}"] or members.$ref sw "{base}/users/{u2}"'],
    ['User', 'groups.$ref eq "{base}/Groups/{g2}"'],
    ['User', 'meta.location eq "{base}/Users/{u2}"'],
    ['User', 'meta.location ne "{base}/Users/{u2}"'],
    ['User', 'meta.location eq "{base}/Groups/{g1}"'],
    ['User', 'meta.location sw "{base}/Users/" and meta.location pr'],
    ['Group', 'meta.location co "/Groups/{g3}" or meta.location eq "{BASE}/Groups/{g1}"'],
    ['Group', 'meta[location ew "{g2}"]'],
  ])('with the base URL, %s %s agrees with evaluateFilter', async (type, template) => {
    const filter = fill(template).replace(/\{base\}/g, BASE).replace(/\{BASE\}/g, BASE.toUpperCase());
    const { users, groups } = await servedAll();
    const rebase = (r: Record<string, unknown>) => JSON.parse(JSON.stringify(r).split(`${h.sb.url}/scim/v2`).join(BASE)) as Record<string, unknown>;
    const all = (type === 'User' ? users : groups).map(rebase);
    const predicate = compileFilter(parseFilter(filter), registry, type);
    const expected = all.filter((r) => predicate(r)).map((r) => r.id).sort();
    const page = await h.get(ResourceQueryService).list(type as 'User' | 'Group', { filter, count: 1000, baseUrl: BASE });
    expect({ filter, ids: page.resources.map((r) => r.id).sort() }).toEqual({ filter, ids: expected });
  });

  it('without a base URL, $ref and meta.location filters are a 400 that says why', async () => {
    for (const [type, filter] of [['Group', 'members.$ref pr'], ['User', `meta.location eq "${BASE}/Users/x"`]] as const) {
      await expect(h.get(ResourceQueryService).list(type, { filter })).rejects.toMatchObject({
        status: 400, scimType: 'invalidFilter', message: expect.stringContaining("depends on the request's base URL"),
      });
    }
  });

  it('keeps meta.version and meta.lastModified filterable after a membership-only change', async () => {
    const patched = await h.scim('PATCH', `/Groups/${ids.g3}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.u3 }] }],
    });
    expect([200, 204]).toContain(patched.status);
    const { version, lastModified } = (await h.scim('GET', `/Groups/${ids.g3}`)).body.meta;
    for (const filter of [`meta.version eq ${JSON.stringify(version)}`, `meta.lastModified eq "${lastModified}" and members eq "${ids.u3}"`, 'members.display eq "u3"']) {
      const res = await h.scim('GET', `/Groups?filter=${encodeURIComponent(filter)}`);
      expect({ filter, ids: res.body.Resources?.map((r: { id: string }) => r.id) }).toEqual({ filter, ids: [ids.g3] });
    }
  });
});
