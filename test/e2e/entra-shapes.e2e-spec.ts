import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceService } from '../../src/identity/resource.service.js';
import { parsePatchPath } from '../../src/scim/filter/filter.parser.js';
import { CORE_SCHEMAS } from '../../src/scim/schema/schema-registry.js';
import { Harness } from '../utils/harness.js';

/**
 * Microsoft Entra's documented SCIM request shapes (Microsoft Learn, MicrosoftDocs/entra-docs; see each
 * fixture's `source`), replayed against Switchboard. One fixture per case in `test/fixtures/idp/entra/`:
 * `{ case, description, source, given?, method, path, request?, status, response?, after? }`.
 * Each case gets its own user, two would-be members and a group, so cases do not see each other.
 *
 * Placeholders: {run} (unique per case), {userId}, {userName}, {memberId}, {otherMemberId}, {groupId},
 * {groupName}, {missingId}. `response` checks the reply; `after` re-reads a resource with GET.
 */

interface EntraCase {
  case: string;
  description: string;
  source: string;
  given?: { groupMembers?: string[] };
  method: string;
  path: string;
  request?: unknown;
  status: number[];
  response?: {
    body?: Record<string, unknown>;
    present?: string[];
    absent?: string[];
    absentInResources?: string[];
    listResponse?: boolean;
    totalResults?: number;
    resourceIds?: string[];
  };
  after?: {
    resource: string;
    status?: number;
    values?: Record<string, unknown>;
    absentKeys?: string[];
    membersInclude?: string[];
    membersExclude?: string[];
  };
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'idp', 'entra');
const CASES: EntraCase[] = readdirSync(FIXTURES).filter(f => f.endsWith('.json')).sort()
  .map(f => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as EntraCase);

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MISSING_ID = '5f0c3c1e-0000-4000-8000-00000000e17a';

/** Replaces `{name}` placeholders in every string of a fixture value. */
function fill<T>(value: T, vars: Record<string, string>): T {
  return JSON.parse(JSON.stringify(value), (_k, v) =>
    typeof v === 'string' ? v.replace(/\{(\w+)\}/g, (m, name: string) => vars[name] ?? m) : v) as T;
}

/** `/Users?filter=userName eq "x"` with each query value percent-encoded, as an HTTP client sends it. */
function encodePath(path: string): string {
  const [base, query] = path.split(/\?(.*)/s, 2);
  if (!query) return base!;
  return `${base}?${query.split('&').map(pair => {
    const i = pair.indexOf('=');
    return i < 0 ? pair : `${pair.slice(0, i)}=${encodeURIComponent(pair.slice(i + 1))}`;
  }).join('&')}`;
}

/** The value a PATCH-style path names in a SCIM resource (`emails[type eq "work"].value`, URN paths). */
function valueAt(doc: Record<string, any>, text: string): unknown {
  const { attrPath: p, valueFilter: f, subAttr } = parsePatchPath(text, { schemaUrns: CORE_SCHEMAS.map(c => c.id) });
  const key = (o: any, name: string) => Object.keys(o ?? {}).find(k => k.toLowerCase() === name.toLowerCase()) ?? name;
  const container = p.uri ? doc[key(doc, p.uri)] : doc;
  let v = container?.[key(container, p.attr)];
  // The fixtures' filters are `attr eq "value"`.
  if (f?.kind === 'compare') v = (v as any[] | undefined)?.find(el => el[key(el, f.path.attr)] === f.value);
  const sub = subAttr ?? p.sub;
  if (sub) v = v?.[key(v, sub)];
  return v;
}

describe.each(['sqlite', 'postgres'] as const)('Entra request shapes (%s)', db => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ db });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function created(path: string, body: unknown): Promise<any> {
    const r = await h.scim('POST', path, body);
    expect(r.status).toBe(201);
    return r.body;
  }

  /** The case's own user, two other users and a group holding `given.groupMembers`. */
  async function given(c: EntraCase): Promise<Record<string, string>> {
    const run = randomBytes(4).toString('hex');
    const user = await created('/Users', {
      schemas: [USER, ENT], userName: `entra.${run}@entra.example`, externalId: `ext-${run}`, displayName: 'Case User', active: true,
      name: { givenName: 'Case', familyName: 'User' },
      emails: [{ type: 'work', value: `entra.${run}@work.example`, primary: true }, { type: 'home', value: `entra.${run}@home.example` }],
      [ENT]: { department: 'Provisioning' },
    });
    const member = await created('/Users', { schemas: [USER], userName: `member.${run}@entra.example` });
    const other = await created('/Users', { schemas: [USER], userName: `other.${run}@entra.example` });
    const vars: Record<string, string> = {
      run, userId: user.id, userName: user.userName, memberId: member.id, otherMemberId: other.id, missingId: MISSING_ID, groupName: `Entra Group ${run}`,
    };
    const members = fill(c.given?.groupMembers ?? [], vars).map(value => ({ value }));
    vars.groupId = (await created('/Groups', { schemas: [GROUP], displayName: vars.groupName, members })).id;
    return vars;
  }

  it.each(CASES.map(c => [c.case, c] as const))('should answer %s as documented', async (_id, fixture) => {
    const vars = await given(fixture);
    const c = fill(fixture, vars);
    const r = await h.scim(c.method, encodePath(c.path), c.request);
    expect({ case: c.case, status: r.status, ok: c.status.includes(r.status) }).toEqual({ case: c.case, status: r.status, ok: true });

    const want = c.response ?? {};
    if (want.body) expect(r.body).toMatchObject(want.body);
    for (const k of want.present ?? []) expect(r.body).toHaveProperty([k]);
    for (const k of want.absent ?? []) expect(Object.keys(r.body).map(x => x.toLowerCase())).not.toContain(k.toLowerCase());
    if (want.listResponse) {
      expect(r.body.schemas).toEqual([LIST]);
      expect(r.body.Resources ?? []).toHaveLength(r.body.itemsPerPage ?? 0);
    }
    if (want.totalResults !== undefined) expect(r.body.totalResults).toBe(want.totalResults);
    for (const k of want.absentInResources ?? []) for (const res of r.body.Resources) expect(res).not.toHaveProperty([k]);
    if (want.resourceIds) expect(r.body.Resources.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(want.resourceIds));

    if (!c.after) return;
    const back = await h.scim('GET', c.after.resource);
    expect(back.status).toBe(c.after.status ?? 200);
    if (back.status !== 200) return;
    for (const [path, value] of Object.entries(c.after.values ?? {})) expect({ path, value: valueAt(back.body, path) }).toEqual({ path, value });
    for (const k of c.after.absentKeys ?? []) expect(back.body).not.toHaveProperty([k]);
    const memberIds = (back.body.members ?? []).map((m: { value: string }) => m.value);
    expect(memberIds).toEqual(expect.arrayContaining(c.after.membersInclude ?? []));
    for (const id of c.after.membersExclude ?? []) expect(memberIds).not.toContain(id);
  });

  describe('projection without the extra reads', () => {
    afterEach(() => jest.restoreAllMocks());

    it('should not read group members when a Group GET excludes members', async () => {
      const vars = await given({ given: { groupMembers: ['{memberId}', '{otherMemberId}'] } } as EntraCase);
      const resources = h.get(ResourceService);
      const find = jest.spyOn(resources, 'find');
      const membersOf = jest.spyOn(resources, 'membersOf');
      const r = await h.scim('GET', `/Groups/${vars.groupId}?excludedAttributes=members`);
      expect(r.status).toBe(200);
      expect(r.body).not.toHaveProperty('members');
      expect(find).toHaveBeenCalledWith('Group', vars.groupId, false);
      expect(membersOf).not.toHaveBeenCalled();
    });

    it('should still return members when a Group GET does not exclude them', async () => {
      const vars = await given({ given: { groupMembers: ['{memberId}', '{otherMemberId}'] } } as EntraCase);
      const r = await h.scim('GET', `/Groups/${vars.groupId}`);
      expect(r.body.members.map((m: { value: string }) => m.value).sort()).toEqual([vars.memberId, vars.otherMemberId].sort());
    });

    it('should not read a user\'s groups when a User GET or list leaves groups out', async () => {
      const vars = await given({ given: { groupMembers: ['{userId}'] } } as EntraCase);
      const groupsOf = jest.spyOn(h.get(ResourceService), 'groupsOf');
      const one = await h.scim('GET', `/Users/${vars.userId}?excludedAttributes=groups`);
      const list = await h.scim('GET', encodePath(`/Users?attributes=userName&filter=userName eq "${vars.userName}"`));
      expect(one.body).not.toHaveProperty('groups');
      expect(list.body.Resources).toEqual([{ schemas: [USER, ENT], id: vars.userId, userName: vars.userName }]);
      expect(groupsOf).not.toHaveBeenCalled();
      const full = await h.scim('GET', `/Users/${vars.userId}`);
      expect(full.body.groups.map((g: { value: string }) => g.value)).toEqual([vars.groupId]);
    });

    it('should project a SearchRequest and a write response when they name attributes', async () => {
      const vars = await given({} as EntraCase);
      const search = await h.scim('POST', '/Users/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `userName eq "${vars.userName}"`,
        attributes: ['name.givenName', `${ENT}:department`],
      });
      expect(search.body.Resources).toEqual([{ schemas: [USER, ENT], id: vars.userId, name: { givenName: 'Case' }, [ENT]: { department: 'Provisioning' } }]);
      const patched = await h.scim('PATCH', `/Users/${vars.userId}?attributes=nickName`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'nickName', value: 'Casey' }],
      });
      expect(patched.body).toEqual({ schemas: [USER, ENT], id: vars.userId, nickName: 'Casey' });
      const posted = await h.scim('POST', '/Groups?excludedAttributes=members,meta', { schemas: [GROUP], displayName: `Posted ${vars.run}` });
      expect({ status: posted.status, location: posted.headers.location, body: posted.body })
        .toEqual({ status: 201, location: expect.stringContaining(`/Groups/${posted.body.id}`), body: { schemas: [GROUP], id: posted.body.id, displayName: `Posted ${vars.run}` } });
    });
  });
});
