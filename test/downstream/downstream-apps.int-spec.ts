import { request } from 'undici';
import type { DownstreamApp } from './downstream-app.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startScimmyApp } from './scimmy-app.js';
import { startStrictApp } from './strict-app.js';

const TOKEN = 'downstream-test-token';
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

type Json = Record<string, any>;
type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: Json; ms: number };

async function scim(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const started = Date.now();
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {}, ms: Date.now() - started };
}

const userBody = (userName: string, extra: Json = {}): Json => ({
  schemas: [USER_URN, ENT_URN],
  userName,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [{ value: `${userName}@example.com`, type: 'work', primary: true }],
  active: true,
  [ENT_URN]: { department: 'Sales' },
  ...extra,
});

const patch = (...Operations: Json[]) => ({ schemas: [PATCH_URN], Operations });

describe.each([
  ['scimmy', startScimmyApp],
  ['strict', startStrictApp],
] as const)('%s downstream app', (_name, start) => {
  let app: DownstreamApp;

  beforeAll(async () => {
    app = await start({ token: TOKEN });
  });
  afterAll(async () => {
    await app.close();
  });

  it('should serve under /scim/v2 on 127.0.0.1 and reject a wrong token', async () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    const res = await scim(app.url, 'GET', '/Users', undefined, { authorization: 'Bearer nope' });
    expect(res.status).toBe(401);
  });

  it('should create, read, filter, patch, put and delete a user', async () => {
    const created = await scim(app.url, 'POST', '/Users', userBody('bjensen'));
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toContain('application/scim+json');
    const id = created.body.id as string;
    expect(created.body.meta.location).toBe(`${app.url}/Users/${id}`);

    const read = await scim(app.url, 'GET', `/Users/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ userName: 'bjensen', [ENT_URN]: { department: 'Sales' } });

    const dup = await scim(app.url, 'POST', '/Users', userBody('BJensen'));
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');

    const found = await scim(app.url, 'GET', `/Users?filter=${encodeURIComponent('userName eq "BJENSEN"')}`);
    expect(found.status).toBe(200);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(id);

    const patched = await scim(app.url, 'PATCH', `/Users/${id}`, patch(
      { op: 'replace', path: 'active', value: false },
      { op: 'replace', path: 'name.givenName', value: 'Babs' },
      { op: 'add', path: `${ENT_URN}:costCenter`, value: 'CC-7' },
      { op: 'replace', value: { title: 'Tour Guide' } },
    ));
    expect(patched.status).toBe(200);
    const stored = app.users().find((u) => u.id === id)!;
    expect(stored).toMatchObject({
      active: false,
      title: 'Tour Guide',
      name: { givenName: 'Babs', familyName: 'Jensen' },
      [ENT_URN]: { department: 'Sales', costCenter: 'CC-7' },
    });

    const put = await scim(app.url, 'PUT', `/Users/${id}`, { schemas: [USER_URN], userName: 'bjensen', displayName: 'Babs J', active: true });
    expect(put.status).toBe(200);
    expect(app.users().find((u) => u.id === id)).toMatchObject({ displayName: 'Babs J', active: true });
    expect(app.users().find((u) => u.id === id)).not.toHaveProperty('title');

    const del = await scim(app.url, 'DELETE', `/Users/${id}`);
    expect(del.status).toBe(204);
    expect((await scim(app.url, 'GET', `/Users/${id}`)).status).toBe(404);

    const post = app.requests.find((r) => r.method === 'POST' && r.status === 201);
    expect(post).toMatchObject({ resourceId: id });
    expect(post!.endedAt).toBeGreaterThanOrEqual(post!.startedAt);
  });

  it('should store group members and apply member PATCH operations', async () => {
    const [a, b] = await Promise.all(['m-alice', 'm-bob'].map((n) => scim(app.url, 'POST', '/Users', userBody(n))));
    const group = await scim(app.url, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Engineering', members: [{ value: a.body.id }] });
    expect(group.status).toBe(201);
    const gid = group.body.id as string;

    const added = await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: b.body.id }] }));
    expect(added.status).toBe(200);
    expect(app.groups().find((g) => g.id === gid)!.members).toEqual([{ value: a.body.id }, { value: b.body.id }]);

    const removed = await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${a.body.id}"]` }));
    expect(removed.status).toBe(200);
    expect(app.groups().find((g) => g.id === gid)!.members).toEqual([{ value: b.body.id }]);

    const byName = await scim(app.url, 'GET', `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}`);
    expect(byName.body.totalResults).toBe(1);
  });

  it('should paginate lists with startIndex and count', async () => {
    await Promise.all(['p1', 'p2', 'p3'].map((n) => scim(app.url, 'POST', '/Users', userBody(`page-${n}`))));
    const page = await scim(app.url, 'GET', '/Users?startIndex=2&count=2');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources).toHaveLength(2);
    expect(page.body.totalResults).toBe(app.users().length);
  });
});

describe('scimmy downstream app specifics', () => {
  let app: DownstreamApp;

  beforeAll(async () => {
    app = await startScimmyApp({ token: TOKEN });
  });
  afterAll(async () => {
    await app.close();
  });

  it('should keep two apps in one process apart despite SCIMMY\'s global registry', async () => {
    const other = await startScimmyApp({ token: 'other-token' });
    try {
      const res = await request(`${other.url}/Users`, {
        method: 'POST',
        headers: { authorization: 'Bearer other-token', 'content-type': 'application/scim+json' },
        body: JSON.stringify(userBody('elsewhere')),
      });
      expect(res.statusCode).toBe(201);
      expect(((await res.body.json()) as Json).meta.location).toMatch(new RegExp(`^${other.url}/Users/`));
      expect(other.users().map((u) => u.userName)).toEqual(['elsewhere']);
      expect(app.users().map((u) => u.userName)).not.toContain('elsewhere');
      expect((await scim(other.url, 'GET', '/Users')).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('should keep group displayName unique, members a set, and answer a no-op PATCH with 204', async () => {
    const user = await scim(app.url, 'POST', '/Users', userBody('solo'));
    const uid = user.body.id as string;
    const group = await scim(app.url, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Ops', members: [{ value: uid }] });
    expect((await scim(app.url, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'OPS' })).status).toBe(409);
    const gid = group.body.id as string;

    const again = await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: uid }] }));
    expect(again.status).toBe(204);
    expect(app.groups()[0].members).toEqual([{ value: uid }]);

    // Entra's form: capitalised op, members selected by value instead of a path filter.
    const entra = await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ value: uid }] }));
    expect(entra.status).toBe(200);
    expect(app.groups()[0]).not.toHaveProperty('members');

    const deleted = await scim(app.url, 'DELETE', `/Users/${uid}`);
    expect(deleted.status).toBe(204);
    expect(app.requests.find((r) => r.method === 'DELETE')).toMatchObject({ resourceId: uid, status: 204 });
  });
});

describe('strict downstream app rejections', () => {
  let app: DownstreamApp;

  beforeAll(async () => {
    app = await startStrictApp({ token: TOKEN });
  });
  afterAll(async () => {
    await app.close();
  });

  const expectError = (res: Reply, status: number, scimType?: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: String(status) });
    expect(typeof res.body.detail).toBe('string');
    if (scimType) expect(res.body.scimType).toBe(scimType);
  };

  it.each([
    ['an unknown attribute', userBody('x1', { favouriteColour: 'blue' }), 'invalidSyntax'],
    ['"True" for active', userBody('x2', { active: 'True' }), 'invalidValue'],
    ['missing schemas', { userName: 'x3' }, 'invalidSyntax'],
    ['missing userName', { schemas: [USER_URN], displayName: 'No Name' }, 'invalidValue'],
    ['a display-name style email', userBody('x5', { emails: [{ value: 'X Five <x5@example.com>' }] }), 'invalidValue'],
    ['a readOnly id', userBody('x6', { id: 'mine' }), 'mutability'],
    ['readOnly groups', userBody('x7', { groups: [{ value: 'g' }] }), 'mutability'],
    ['an extension without its URN in schemas', { ...userBody('x8'), schemas: [USER_URN] }, 'invalidSyntax'],
    ['two primary emails', userBody('x9', { emails: [{ value: 'a@x.io', primary: true }, { value: 'b@x.io', primary: true }] }), 'invalidValue'],
  ])('should reject a POST with %s', async (_case, body, scimType) => {
    expectError(await scim(app.url, 'POST', '/Users', body), 400, scimType);
    expect(app.users()).toHaveLength(0);
  });

  it.each([
    ['userName co "x"'],
    ['emails.value eq "a@x.io"'],
    ['userName eq x'],
    ['userName eq "a" and active eq true'],
  ])('should reject the filter %s with invalidFilter', async (filter) => {
    expectError(await scim(app.url, 'GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
  });

  it('should enforce externalId uniqueness and ETags', async () => {
    const created = await scim(app.url, 'POST', '/Users', userBody('etag-user', { externalId: 'E-1' }));
    expect(created.status).toBe(201);
    expect(created.headers.etag).toBe('W/"1"');
    expect(created.body.meta.version).toBe('W/"1"');
    expectError(await scim(app.url, 'POST', '/Users', userBody('other-user', { externalId: 'E-1' })), 409, 'uniqueness');

    const id = created.body.id as string;
    const projected = await scim(app.url, 'GET', `/Users/${id}?attributes=userName`);
    expect(Object.keys(projected.body).sort()).toEqual(['id', 'schemas', 'userName']);
    const op = patch({ op: 'replace', path: 'displayName', value: 'Tagged' });
    expectError(await scim(app.url, 'PATCH', `/Users/${id}`, op, { 'if-match': 'W/"7"' }), 412);
    const ok = await scim(app.url, 'PATCH', `/Users/${id}`, op, { 'if-match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.body.meta.version).toBe('W/"2"');
    expect((await scim(app.url, 'GET', `/Users/${id}`, undefined, { 'if-none-match': 'W/"2"' })).status).toBe(304);
    expectError(await scim(app.url, 'DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"1"' }), 412);
    expect((await scim(app.url, 'DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"2"' })).status).toBe(204);
  });

  it('should apply RFC 7644 PATCH paths and reject sloppy operations', async () => {
    const user = await scim(app.url, 'POST', '/Users', userBody('patchy', {
      emails: [{ value: 'work@example.com', type: 'work', primary: true }, { value: 'home@example.com', type: 'home' }],
      [ENT_URN]: { department: 'Sales', manager: { value: 'boss-1' } },
    }));
    const id = user.body.id as string;
    const ok = await scim(app.url, 'PATCH', `/Users/${id}`, patch(
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' },
      { op: 'add', path: `${ENT_URN}:manager.$ref`, value: 'https://example.com/Users/boss-1' },
      { op: 'add', value: { nickName: 'P', [ENT_URN]: { division: 'North' } } },
      { op: 'remove', path: 'emails[type eq "home"]' },
    ));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      nickName: 'P',
      emails: [{ value: 'new@example.com', type: 'work', primary: true }],
      [ENT_URN]: { department: 'Sales', division: 'North', manager: { value: 'boss-1', $ref: 'https://example.com/Users/boss-1' } },
    });

    const bad: Array<[Json, number, string]> = [
      [patch({ op: 'Replace', path: 'active', value: false }), 400, 'invalidSyntax'],
      [patch({ op: 'replace', path: 'active', value: 'False' }), 400, 'invalidValue'],
      [patch({ op: 'remove' }), 400, 'noTarget'],
      [patch({ op: 'replace', path: 'id', value: 'evil' }), 400, 'mutability'],
      [patch({ op: 'replace', path: 'fooBar', value: 'x' }), 400, 'invalidPath'],
      [patch({ op: 'replace', path: 'emails[type eq "other"].value', value: 'o@example.com' }), 400, 'noTarget'],
      [patch({ op: 'add', value: { 'name.givenName': 'X' } }), 400, 'invalidSyntax'],
      [{ Operations: [{ op: 'replace', path: 'active', value: false }] }, 400, 'invalidSyntax'],
      [patch(), 400, 'invalidSyntax'],
    ];
    for (const [body, status, scimType] of bad) {
      expectError(await scim(app.url, 'PATCH', `/Users/${id}`, body), status, scimType);
    }
    expectError(await scim(app.url, 'PATCH', '/Users/nope', patch({ op: 'replace', path: 'active', value: false })), 404);
  });

  it('should require group members to be existing users and track user groups', async () => {
    const user = await scim(app.url, 'POST', '/Users', userBody('member-1'));
    const uid = user.body.id as string;
    expectError(await scim(app.url, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G', members: [{ value: 'ghost' }] }), 400, 'invalidValue');
    expectError(await scim(app.url, 'POST', '/Groups', { schemas: [USER_URN], displayName: 'G' }), 400, 'invalidSyntax');
    const group = await scim(app.url, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G', members: [{ value: uid, display: 'member-1' }] });
    expect(group.status).toBe(201);
    const gid = group.body.id as string;
    expect((await scim(app.url, 'GET', `/Users/${uid}`)).body.groups).toEqual([
      { value: gid, $ref: `${app.url}/Groups/${gid}`, display: 'G', type: 'direct' },
    ]);
    expectError(await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: 'ghost' }] })), 400, 'invalidValue');
    const again = await scim(app.url, 'PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: uid }] }));
    expect(again.body.members).toHaveLength(1);
    expect((await scim(app.url, 'DELETE', `/Users/${uid}`)).status).toBe(204);
    expect(app.groups().find((g) => g.id === gid)).not.toHaveProperty('members');
  });

  it('should publish ServiceProviderConfig and Schemas for discovery', async () => {
    const spc = await scim(app.url, 'GET', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ patch: { supported: true }, filter: { supported: true }, etag: { supported: true }, bulk: { supported: false } });
    const schemas = await scim(app.url, 'GET', '/Schemas');
    expect(schemas.body.Resources.map((s: Json) => s.id)).toEqual([USER_URN, ENT_URN, GROUP_URN]);
    const user = schemas.body.Resources[0] as Json;
    expect(user.attributes.find((a: Json) => a.name === 'userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
    expect((await scim(app.url, 'GET', `/Schemas/${ENT_URN}`)).body.attributes.map((a: Json) => a.name)).toContain('manager');
    expect((await scim(app.url, 'GET', '/ResourceTypes/User')).body.schemaExtensions).toEqual([{ schema: ENT_URN, required: false }]);
  });
});

describe('fault proxy', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;

  beforeAll(async () => {
    app = await startStrictApp({ token: TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
  });
  afterAll(async () => {
    await proxy.close();
    await app.close();
  });
  afterEach(() => proxy.clearRules());

  it('should forward method, path, query, headers and body unchanged', async () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    const created = await scim(proxy.url, 'POST', '/Users', userBody('proxied'));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${app.url}/Users/${created.body.id}`);
    const found = await scim(proxy.url, 'GET', `/Users?filter=${encodeURIComponent('userName eq "proxied"')}`);
    expect(found.body.totalResults).toBe(1);
    expect((await scim(proxy.url, 'GET', '/Users', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('should fail twice with 500 and then pass through', async () => {
    const rule = proxy.addRule({ match: { method: 'POST', pathIncludes: '/Users', bodyIncludes: 'retry-me' }, status: 500, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await scim(proxy.url, 'POST', '/Users', userBody('retry-me'))).status);
    expect(statuses).toEqual([500, 500, 201]);
    expect(rule.hits).toBe(2);
    expect(app.users().filter((u) => u.userName === 'retry-me')).toHaveLength(1);
    const retries = (r: { path: string; resourceKey?: string }) => r.resourceKey === 'retry-me';
    expect(proxy.writeCount(retries)).toBe(3);
    expect(proxy.writeCount((r) => retries(r) && !r.injected)).toBe(1);
  });

  it('should answer 429 with Retry-After and a custom body', async () => {
    proxy.addRule({ match: { method: 'GET' }, status: 429, headers: { 'Retry-After': '3' }, times: 1 });
    const limited = await scim(proxy.url, 'GET', '/Users');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect(limited.body).toMatchObject({ schemas: [ERROR_URN], status: '429' });
    expect((await scim(proxy.url, 'GET', '/Users')).status).toBe(200);

    proxy.addRule({ status: 503, body: { detail: 'maintenance' } });
    expect((await scim(proxy.url, 'GET', '/Users')).body).toEqual({ detail: 'maintenance' });
  });

  it('should delay matching requests and still forward them', async () => {
    proxy.addRule({ match: { pathIncludes: '/ServiceProviderConfig' }, delayMs: 250 });
    const slow = await scim(proxy.url, 'GET', '/ServiceProviderConfig');
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(240);
    const last = proxy.requests[proxy.requests.length - 1];
    expect(last.endedAt - last.startedAt).toBeGreaterThanOrEqual(240);
  });

  it('should track the most concurrent in-flight requests per resource', async () => {
    const created = await scim(proxy.url, 'POST', '/Users', userBody('busy'));
    const id = created.body.id as string;
    proxy.addRule({ match: { method: 'PATCH' }, delayMs: 150 });
    proxy.addRule({ match: { method: 'POST', bodyIncludes: '"racer"' }, delayMs: 150 });
    const ops = [1, 2, 3].map((n) => scim(proxy.url, 'PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'nickName', value: `n${n}` })));
    const racers = [1, 2].map(() => scim(proxy.url, 'POST', '/Users', userBody('racer')));
    const results = await Promise.all([...ops, ...racers]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201, 409]);
    const max = proxy.maxConcurrentByResource();
    expect(max.get(`/Users/${id}`)).toBe(3);
    expect(max.get('racer')).toBe(2);
    expect(max.get('busy')).toBe(1);
  });
});
