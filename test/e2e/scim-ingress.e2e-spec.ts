import { request } from 'undici';
import { DbService } from '../../src/db/db.service.js';
import { CLIENT_TOKEN, Harness } from '../utils/harness.js';

/**
 * The SCIM ingress (RFC 7643 / RFC 7644) as an IdP sees it: every endpoint, header and error shape the
 * issue asks for, then the inputs a hostile or sloppy IdP sends. Each error must be a SCIM Error
 * (`application/scim+json`, Error URN, `status` as a string, the RFC 7644 §3.12 `scimType`) with a
 * 4xx status. Runs on SQLite and PostgreSQL; no targets, so only the outbox is observed.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const READER_TOKEN = 'test-reader-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** xsd:dateTime with an explicit zone (RFC 7643 §2.3.5). */
const DATE_TIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MISSING_ID = '5f0c3c1e-0000-4000-8000-000000000000';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; text: string; body: any }

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe.each(['sqlite', 'postgres'] as const)('SCIM ingress (%s)', db => {
  let h: Harness;
  let seq = 0;

  beforeAll(async () => {
    h = await Harness.start({ db, clients: [{ id: 'reader', token: READER_TOKEN, scopes: ['scim:read'] }] });
  });

  afterAll(async () => {
    await h?.close();
  });

  /** A raw call: any body bytes, any headers; `auth: null` sends no Authorization header. */
  async function raw(method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string>; auth?: string | null } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? `Bearer ${CLIENT_TOKEN}` : opts.auth;
    if (auth !== null) headers.authorization = auth;
    const res = await request(`${h.sb.url}/scim/v2${path}`, { method: method as 'GET', headers, body: opts.body, headersTimeout: 20_000, bodyTimeout: 20_000 });
    const text = await res.body.text();
    let body: unknown;
    try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
    return { status: res.statusCode, headers: res.headers, text, body };
  }

  /** A JSON call with the default (read + write) token. */
  function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth?: string | null): Promise<Reply> {
    return raw(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? headers : { 'content-type': 'application/scim+json', ...headers },
      auth,
    });
  }

  /** Asserts a SCIM Error (RFC 7644 §3.12): media type, schemas, status string, scimType (absent when undefined). */
  function expectScimError(r: Reply, status: number, scimType?: string): void {
    expect({ status: r.status, type: String(r.headers['content-type']).split(';')[0] }).toEqual({ status, type: 'application/scim+json' });
    expect(r.body).toEqual({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });
    expect(r.body.detail.length).toBeGreaterThan(0);
  }

  async function outboxCount(resourceId?: string): Promise<number> {
    if (resourceId !== undefined && !UUID.test(resourceId)) throw new Error(`not an id: ${resourceId}`);
    const where = resourceId ? ` WHERE resource_id = '${resourceId}'` : '';
    const [{ n }] = await h.get(DbService).manager.query(`SELECT COUNT(*) AS n FROM change_event${where}`);
    return Number(n);
  }

  async function lastEvent(resourceId: string): Promise<{ kind: string; version: number; origin: string }> {
    const rows = await h.get(DbService).manager.query(`SELECT kind, version, origin FROM change_event WHERE resource_id = '${resourceId}' ORDER BY id DESC`);
    return { kind: rows[0].kind, version: Number(rows[0].version), origin: rows[0].origin };
  }

  const uniq = (stem: string) => `${stem}-${db}-${++seq}`;

  function userBody(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      schemas: [USER, ENT],
      userName,
      externalId: `ext-${userName}`,
      name: { givenName: 'Grace', familyName: 'Hopper', formatted: 'Grace Hopper' },
      displayName: `Grace ${userName}`,
      emails: [{ value: `${userName}@example.org`, type: 'work', primary: true }],
      active: true,
      [ENT]: { employeeNumber: '701', department: 'Navy' },
      ...extra,
    };
  }

  async function createUser(userName = uniq('user'), extra: Record<string, unknown> = {}): Promise<any> {
    const r = await call('POST', '/Users', userBody(userName, extra));
    expect(r.status).toBe(201);
    return r.body;
  }

  async function createGroup(displayName = uniq('group'), members: string[] = []): Promise<any> {
    const r = await call('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map(value => ({ value })) });
    expect(r.status).toBe(201);
    return r.body;
  }

  async function listFilter(endpoint: '/Users' | '/Groups', filter: string): Promise<Reply> {
    return call('GET', `${endpoint}?filter=${encodeURIComponent(filter)}`);
  }

  // ---------------------------------------------------------------------------------------------
  describe('resources', () => {
    it('should create a User with 201, Location, ETag, meta and one outbox row', async () => {
      const before = await outboxCount();
      const userName = uniq('ada');
      const r = await call('POST', '/Users', { ...userBody(userName), password: 'Secr3t!pass', id: 'client-chosen', meta: { resourceType: 'Nope' }, groups: [{ value: 'x' }] });
      expect(r.status).toBe(201);
      expect(String(r.headers['content-type'])).toMatch(/^application\/scim\+json/);
      expect(r.body.id).toMatch(UUID);
      expect(r.headers.location).toBe(r.body.meta.location);
      expect(r.body.meta.location).toBe(`${h.sb.url}/scim/v2/Users/${r.body.id}`);
      expect(r.headers.etag).toBe('W/"1"');
      expect(r.body.meta).toEqual({ resourceType: 'User', created: expect.stringMatching(DATE_TIME_WITH_ZONE), lastModified: r.body.meta.created, location: r.body.meta.location, version: 'W/"1"' });
      expect(r.body).toMatchObject({
        schemas: [USER, ENT], userName, externalId: `ext-${userName}`, active: true,
        name: { givenName: 'Grace', familyName: 'Hopper' }, [ENT]: { employeeNumber: '701' }, groups: [],
      });
      expect(r.body.password).toBeUndefined();
      expect(await outboxCount()).toBe(before + 1);
      expect(await lastEvent(r.body.id)).toEqual({ kind: 'upsert', version: 1, origin: 'scim:idp' });
    });

    it('should create a Group with members and return them', async () => {
      const u = await createUser();
      const before = await outboxCount();
      const r = await call('POST', '/Groups', { schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'], displayName: uniq('Ops'), externalId: 'g-ext-1', meta: { resourceType: 'Group' }, members: [{ value: u.id }] });
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe(`${h.sb.url}/scim/v2/Groups/${r.body.id}`);
      expect(r.headers.etag).toBe('W/"1"');
      expect(r.body.schemas).toEqual([GROUP]);
      expect(r.body.meta).toMatchObject({ resourceType: 'Group', version: 'W/"1"', location: r.headers.location });
      expect(r.body.members).toEqual([{ value: u.id, type: 'User', $ref: `${h.sb.url}/scim/v2/Users/${u.id}` }]);
      expect(await outboxCount()).toBe(before + 1);
      const member = await call('GET', `/Users/${u.id}`);
      expect(member.body.groups).toEqual([{ value: r.body.id, display: r.body.displayName, type: 'direct', $ref: r.headers.location }]);
    });

    it('should create a Group without members and answer members: []', async () => {
      const r = await call('POST', '/Groups', { schemas: [GROUP], displayName: uniq('empty') });
      expect(r.status).toBe(201);
      expect(r.body.members).toEqual([]);
    });

    it('should GET a resource by id with its ETag, and 404 a missing one', async () => {
      const u = await createUser();
      const r = await call('GET', `/Users/${u.id}`);
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^application\/scim\+json/);
      expect(r.headers.etag).toBe('W/"1"');
      expect(r.body).toEqual(u);
      expectScimError(await call('GET', `/Users/${MISSING_ID}`), 404);
      expectScimError(await call('GET', `/Groups/${MISSING_ID}`), 404);
      // A User id is not a Group id.
      expectScimError(await call('GET', `/Groups/${u.id}`), 404);
    });

    it('should page the list with startIndex and count', async () => {
      for (let i = 0; i < 3; i++) await createUser();
      const all = await call('GET', '/Users?count=1000');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ schemas: [LIST], startIndex: 1 });
      const total = all.body.totalResults;
      expect(total).toBeGreaterThanOrEqual(3);
      expect(all.body.itemsPerPage).toBe(total);
      const ids = all.body.Resources.map((x: any) => x.id);
      const page = await call('GET', '/Users?startIndex=2&count=2');
      expect(page.body).toEqual({ schemas: [LIST], totalResults: total, startIndex: 2, itemsPerPage: 2, Resources: expect.any(Array) });
      expect(page.body.Resources.map((x: any) => x.id)).toEqual(ids.slice(1, 3));
      const last = await call('GET', `/Users?startIndex=${total}&count=5`);
      expect(last.body.Resources.map((x: any) => x.id)).toEqual(ids.slice(total - 1));
      const past = await call('GET', `/Users?startIndex=${total + 1}`);
      expect(past.body).toMatchObject({ totalResults: total, startIndex: total + 1, itemsPerPage: 0, Resources: [] });
      const zero = await call('GET', '/Users?count=0');
      expect(zero.body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });
    });

    it('should filter Users with eq on userName, externalId, displayName and id, joined by and', async () => {
      const name = uniq('Filter.Me');
      const u = await createUser(name, { externalId: `X-${name}`, displayName: `Filter Person ${name}` });
      await createUser(uniq('Filter.Other'));
      const one = (r: Reply) => { expect(r.status).toBe(200); expect(r.body.totalResults).toBe(1); expect(r.body.Resources.map((x: any) => x.id)).toEqual([u.id]); };
      const none = (r: Reply) => { expect(r.status).toBe(200); expect(r.body).toMatchObject({ schemas: [LIST], totalResults: 0, Resources: [] }); };
      one(await listFilter('/Users', `userName eq "${name}"`));
      one(await listFilter('/Users', `userName eq "${name.toUpperCase()}"`));
      one(await listFilter('/Users', `USERNAME Eq "${name.toLowerCase()}"`));
      one(await listFilter('/Users', `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "${name}"`));
      one(await listFilter('/Users', `externalId eq "X-${name}"`));
      none(await listFilter('/Users', `externalId eq "x-${name.toLowerCase()}"`)); // externalId is caseExact
      one(await listFilter('/Users', `displayName eq "filter person ${name.toLowerCase()}"`));
      one(await listFilter('/Users', `id eq "${u.id}"`));
      one(await listFilter('/Users', `userName eq "${name}" and externalId eq "X-${name}" and id eq "${u.id}" and displayName eq "Filter Person ${name}"`));
      none(await listFilter('/Users', `userName eq "${name}" and externalId eq "nope"`));
      none(await listFilter('/Users', 'userName eq "non-existent user"'));
      // Entra's unquoted value.
      one(await listFilter('/Users', `externalId eq X-${name}`));
      // .search is the same query in a POST body (a read).
      const s = await call('POST', '/Users/.search', { schemas: [SEARCH], filter: `userName eq "${name}"`, startIndex: 1, count: 10 });
      expect(s.status).toBe(200);
      expect(s.body.Resources.map((x: any) => x.id)).toEqual([u.id]);
    });

    it('should filter on meta.created and meta.lastModified as instants, any offset', async () => {
      const u = await createUser();
      const created: string = u.meta.created;
      const ids = async (f: string) => {
        const r = await listFilter('/Users', f);
        expect({ f, status: r.status }).toEqual({ f, status: 200 });
        return r.body.Resources.map((x: any) => x.id);
      };
      expect(await ids(`meta.created eq "${created}" and id eq "${u.id}"`)).toEqual([u.id]);
      expect(await ids(`meta.lastModified ge "${created}" and id eq "${u.id}"`)).toEqual([u.id]);
      expect(await ids(`meta.lastModified gt "${created}" and id eq "${u.id}"`)).toEqual([]);
      // The same instant written with an offset.
      const plus2 = new Date(Date.parse(created) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      expect(await ids(`meta.created eq "${plus2}" and id eq "${u.id}"`)).toEqual([u.id]);
      expectScimError(await listFilter('/Users', 'meta.created gt "yesterday"'), 400, 'invalidFilter');
    });

    it('should accept Entra habits: "True" for a boolean sub-attribute, a bare manager id', async () => {
      const u = await createUser(uniq('habits'), { emails: [{ value: 'h@example.org', type: 'work', primary: 'True' }] });
      expect(u.emails).toEqual([{ value: 'h@example.org', type: 'work', primary: true }]);
      const boss = await createUser();
      const r = await call('PATCH', `/Users/${u.id}`, patch({ op: 'Add', path: `${ENT}:manager`, value: boss.id }));
      expect(r.status).toBe(200);
      expect(r.body[ENT]).toEqual({ employeeNumber: '701', department: 'Navy', manager: { value: boss.id } });
      expect((await listFilter('/Users', `${ENT}:manager.value eq "${boss.id}"`)).body.Resources.map((x: any) => x.id)).toEqual([u.id]);
    });

    it('should accept attribute names and schema URNs in any letter case on POST', async () => {
      const userName = uniq('casey');
      const r = await call('POST', '/Users', { schemas: [USER.toUpperCase()], USERNAME: userName, Active: 'False', DisplayName: 'Casey', EMAILS: [{ value: 'c@example.org', type: 'work' }] });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ schemas: [USER], userName, active: false, displayName: 'Casey', emails: [{ value: 'c@example.org', type: 'work' }] });
      expect((await listFilter('/Users', `username eq "${userName}" and DISPLAYNAME eq "casey"`)).body.totalResults).toBe(1);
    });

    it('should filter Groups with eq on displayName (case-insensitive), externalId and id', async () => {
      const name = uniq('Sales Team');
      const g = (await call('POST', '/Groups', { schemas: [GROUP], displayName: name, externalId: `gx-${name}` })).body;
      for (const f of [`displayName eq "${name.toUpperCase()}"`, `DisplayName eq "${name}" and externalId eq "gx-${name}"`, `id eq "${g.id}"`]) {
        const r = await listFilter('/Groups', f);
        expect(r.status).toBe(200);
        expect(r.body.Resources.map((x: any) => x.id)).toEqual([g.id]);
        expect(r.body.Resources[0].members).toEqual([]);
      }
    });

    it('should replace with PUT: readOnly attributes ignored, version bumped, one outbox row', async () => {
      const u = await createUser();
      const before = await outboxCount(u.id);
      const r = await call('PUT', `/Users/${u.id}`, { schemas: [USER], id: MISSING_ID, userName: u.userName, displayName: 'Replaced', active: 'False', meta: { version: 'W/"99"' } });
      expect(r.status).toBe(200);
      expect(r.headers.etag).toBe('W/"2"');
      expect(r.body).toMatchObject({ id: u.id, userName: u.userName, displayName: 'Replaced', active: false, schemas: [USER], meta: { version: 'W/"2"', created: u.meta.created } });
      expect(r.body.name).toBeUndefined();
      expect(r.body.externalId).toBeUndefined();
      expect(r.body.meta.lastModified).toMatch(DATE_TIME_WITH_ZONE);
      expect(r.body.meta.lastModified >= u.meta.lastModified).toBe(true);
      expect(await outboxCount(u.id)).toBe(before + 1);
      expect(await lastEvent(u.id)).toMatchObject({ kind: 'upsert', version: 2 });
    });

    it('should apply Entra PATCH shapes: capitalised ops, "True"/"False", filtered, dotted and URN paths', async () => {
      const u = await createUser();
      const before = await outboxCount(u.id);
      const r = await call('PATCH', `/Users/${u.id}`, patch(
        { op: 'Replace', path: 'displayName', value: 'Pat Doe' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'pat.doe@example.org' },
        { op: 'Replace', path: 'name.givenName', value: 'Pat' },
        { op: 'Replace', path: 'externalId', value: 'ext-pat' },
        { op: 'Replace', path: `${ENT}:employeeNumber`, value: '42' },
        { op: 'Add', path: 'nickName', value: 'Patty' },
        { op: 'Replace', path: 'active', value: 'False' },
      ));
      expect(r.status).toBe(200);
      expect(r.headers.etag).toBe('W/"2"');
      expect(r.body).toMatchObject({
        displayName: 'Pat Doe', externalId: 'ext-pat', nickName: 'Patty', active: false,
        name: { givenName: 'Pat', familyName: 'Hopper' },
        emails: [{ value: 'pat.doe@example.org', type: 'work', primary: true }],
        [ENT]: { employeeNumber: '42', department: 'Navy' },
      });
      expect(await outboxCount(u.id)).toBe(before + 1);
      const re = await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'active', value: 'True' }));
      expect(re.body.active).toBe(true);
      expect((await listFilter('/Users', 'externalId eq "ext-pat"')).body.totalResults).toBe(1);
    });

    it('should apply no-path PATCH objects with dotted and URN keys (aadOptscim062020)', async () => {
      const u = await createUser();
      const r = await call('PATCH', `/Users/${u.id}`, patch(
        { op: 'replace', value: { displayName: 'Bo Ek', 'name.givenName': 'Bo', 'name.familyName': 'Ek', [`${ENT}:employeeNumber`]: '9', active: false } },
        { op: 'add', value: { title: 'Engineer', nickName: 'B' } },
      ));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ displayName: 'Bo Ek', name: { givenName: 'Bo', familyName: 'Ek', formatted: 'Grace Hopper' }, [ENT]: { employeeNumber: '9', department: 'Navy' }, active: false, title: 'Engineer', nickName: 'B' });
    });

    it('should remove attributes with PATCH remove', async () => {
      const u = await createUser();
      const r = await call('PATCH', `/Users/${u.id}`, patch(
        { op: 'Remove', path: 'nickName' },
        { op: 'remove', path: 'name.formatted' },
        { op: 'remove', path: 'emails[type eq "work"]' },
        { op: 'remove', path: `${ENT}:department` },
      ));
      expect(r.status).toBe(200);
      expect(r.body.emails).toBeUndefined();
      expect(r.body.name).toEqual({ givenName: 'Grace', familyName: 'Hopper' });
      expect(r.body[ENT]).toEqual({ employeeNumber: '701' });
      const r2 = await call('PATCH', `/Users/${u.id}`, patch({ op: 'remove', path: ENT }));
      expect(r2.body[ENT]).toBeUndefined();
      expect(r2.body.schemas).toEqual([USER]);
    });

    it('should merge a complex value on replace, leaving unnamed sub-attributes (RFC 7644 §3.5.2.3)', async () => {
      const u = await createUser();
      const r = await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'name', value: { givenName: 'Grete' } }));
      expect(r.body.name).toEqual({ givenName: 'Grete', familyName: 'Hopper', formatted: 'Grace Hopper' });
      const r2 = await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', value: { name: { familyName: 'Hoppe' } } }));
      expect(r2.body.name).toEqual({ givenName: 'Grete', familyName: 'Hoppe', formatted: 'Grace Hopper' });
    });

    it('should add and remove Group members in the Entra and Okta shapes', async () => {
      const [a, b, c] = [await createUser(), await createUser(), await createUser()];
      const g = await createGroup(uniq('eng'), [a.id]);
      const before = await outboxCount(g.id);
      const members = (r: Reply) => r.body.members.map((m: any) => m.value).sort();
      // A Group PATCH answers 204 + ETag (RFC 7644 §3.5.2); read the group back to see the result.
      const patchGroup = async (body: unknown): Promise<Reply> => {
        const p = await call('PATCH', `/Groups/${g.id}`, body);
        expect(p.status).toBe(204);
        const got = await call('GET', `/Groups/${g.id}`);
        expect(got.headers.etag).toBe(p.headers.etag);
        return got;
      };
      let r = await patchGroup(patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: b.id }, { value: c.id }] }));
      expect(members(r)).toEqual([a.id, b.id, c.id].sort());
      expect(r.headers.etag).toBe('W/"2"');
      r = await patchGroup(patch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: a.id }] }));
      expect(members(r)).toEqual([b.id, c.id].sort());
      r = await patchGroup(patch({ op: 'remove', path: `members[value eq "${b.id}"]` }));
      expect(members(r)).toEqual([c.id]);
      r = await patchGroup(patch({ op: 'Replace', path: 'displayName', value: 'renamed-eng' }));
      expect(r.body.displayName).toBe('renamed-eng');
      r = await patchGroup(patch({ op: 'replace', value: { displayName: 'eng-again', members: [{ value: a.id }] } }));
      expect(r.body.displayName).toBe('eng-again');
      expect(members(r)).toEqual([a.id]);
      expect(await outboxCount(g.id)).toBe(before + 5);
      expect(await lastEvent(g.id)).toMatchObject({ kind: 'upsert', version: 6 });
      r = await call('PATCH', `/Groups/${g.id}?attributes=members`, patch({ op: 'remove', path: 'members' }));
      expect(r.status).toBe(200);
      expect(r.body.members ?? []).toEqual([]);
      expect((await listFilter('/Groups', `members.value eq "${a.id}" and id eq "${g.id}"`)).body.totalResults).toBe(0);
    });

    it('should add no outbox row and keep the version for a PATCH that changes nothing', async () => {
      const u = await createUser();
      const g = await createGroup(uniq('noop'), [u.id]);
      const before = await outboxCount();
      const cases: Array<[string, unknown]> = [
        [`/Users/${u.id}`, patch({ op: 'Replace', path: 'active', value: 'True' })],
        [`/Users/${u.id}`, patch({ op: 'replace', path: 'userName', value: u.userName })],
        [`/Users/${u.id}`, patch({ op: 'replace', value: { 'name.givenName': 'Grace', displayName: u.displayName } })],
        [`/Users/${u.id}`, patch({ op: 'remove', path: 'nickName' })],
        [`/Users/${u.id}`, patch({ op: 'add', path: 'emails', value: [{ value: `${u.userName}@example.org`, type: 'work', primary: true }] })],
        [`/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: [{ value: u.id }] })],
        [`/Groups/${g.id}`, patch({ op: 'remove', path: `members[value eq "${MISSING_ID}"]` })],
      ];
      for (const [path, body] of cases) {
        const r = await call('PATCH', path, body);
        const isGroup = path.startsWith('/Groups');
        expect({ path, status: r.status, etag: r.headers.etag, version: isGroup ? r.headers.etag : r.body.meta.version }).toEqual({ path, status: isGroup ? 204 : 200, etag: 'W/"1"', version: 'W/"1"' });
      }
      expect(await outboxCount()).toBe(before);
      expect((await call('GET', `/Users/${u.id}`)).body.meta.lastModified).toBe(u.meta.lastModified);
    });

    it('should treat a PATCH that removes and re-adds the same value as no change', async () => {
      const u = await createUser(uniq('readd'), { title: 'Admiral' });
      const before = await outboxCount(u.id);
      // displayName sits mid-document: removing and adding it moves the key, not the value.
      const r = await call('PATCH', `/Users/${u.id}`, patch({ op: 'remove', path: 'displayName' }, { op: 'add', path: 'displayName', value: u.displayName }));
      expect(r.status).toBe(200);
      expect(r.headers.etag).toBe('W/"1"');
      expect(await outboxCount(u.id)).toBe(before);
    });

    it('should DELETE to a tombstone: 204, hidden from reads, lists and uniqueness; one outbox row', async () => {
      const userName = uniq('Leaver');
      const u = await createUser(userName);
      const before = await outboxCount(u.id);
      const d = await call('DELETE', `/Users/${u.id}`);
      expect(d.status).toBe(204);
      expect(d.text).toBe('');
      expect(await outboxCount(u.id)).toBe(before + 1);
      expect(await lastEvent(u.id)).toMatchObject({ kind: 'delete', version: 2 });
      expectScimError(await call('GET', `/Users/${u.id}`), 404);
      expectScimError(await call('DELETE', `/Users/${u.id}`), 404);
      expectScimError(await call('PUT', `/Users/${u.id}`, userBody(userName)), 404);
      expectScimError(await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'active', value: false })), 404);
      expect((await listFilter('/Users', `userName eq "${userName}"`)).body.totalResults).toBe(0);
      expect((await listFilter('/Users', `id eq "${u.id}"`)).body.totalResults).toBe(0);
      expect(await outboxCount(u.id)).toBe(before + 1);
      // The same userName (any case) can be created again right away.
      const again = await call('POST', '/Users', userBody(userName.toUpperCase()));
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(u.id);
      const g = await createGroup();
      expect((await call('DELETE', `/Groups/${g.id}`)).status).toBe(204);
      expectScimError(await call('GET', `/Groups/${g.id}`), 404);
    });

    it('should take a deleted user out of its groups, bumping each group with its own outbox row', async () => {
      const [u, stay] = [await createUser(), await createUser()];
      const g = await createGroup(uniq('cascade'), [u.id, stay.id]);
      const before = { user: await outboxCount(u.id), group: await outboxCount(g.id) };
      expect((await call('DELETE', `/Users/${u.id}`)).status).toBe(204);
      expect(await outboxCount(u.id)).toBe(before.user + 1);
      // The group's membership changed too, so it gets a new version and an event of its own.
      expect(await outboxCount(g.id)).toBe(before.group + 1);
      const after = await call('GET', `/Groups/${g.id}`);
      expect(after.body.members.map((m: any) => m.value)).toEqual([stay.id]);
      expect(after.body.meta.version).toBe('W/"2"');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('discovery', () => {
    it('should serve ServiceProviderConfig', async () => {
      const r = await call('GET', '/ServiceProviderConfig');
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^application\/scim\+json/);
      expect(r.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true }, bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 }, filter: { supported: true, maxResults: 1000 },
        sort: { supported: true }, etag: { supported: true }, changePassword: { supported: expect.any(Boolean) },
        authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
      });
    });

    it('should serve ResourceTypes for User (with EnterpriseUser) and Group', async () => {
      const r = await call('GET', '/ResourceTypes');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ schemas: [LIST], totalResults: 2 });
      const byName = Object.fromEntries(r.body.Resources.map((t: any) => [t.name, t]));
      expect(byName.User).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', endpoint: '/Users', schema: USER, schemaExtensions: [{ schema: ENT, required: false }] });
      expect(byName.Group).toMatchObject({ id: 'Group', endpoint: '/Groups', schema: GROUP });
      expect((await call('GET', '/ResourceTypes/User')).body.endpoint).toBe('/Users');
      expectScimError(await call('GET', '/ResourceTypes/Printer'), 404);
    });

    it('should serve Schemas for core User, EnterpriseUser and Group', async () => {
      const r = await call('GET', '/Schemas');
      expect(r.status).toBe(200);
      expect(r.body.schemas).toEqual([LIST]);
      expect(r.body.Resources.map((s: any) => s.id).sort()).toEqual([ENT, GROUP, USER].sort());
      const user = r.body.Resources.find((s: any) => s.id === USER);
      expect(user.attributes.find((a: any) => a.name === 'userName')).toMatchObject({ type: 'string', required: true, caseExact: false, uniqueness: 'server' });
      expect((await call('GET', `/Schemas/${ENT}`)).body.id).toBe(ENT);
      expectScimError(await call('GET', '/Schemas/urn:nope'), 404);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('auth', () => {
    it.each([
      ['no Authorization header', null],
      ['a wrong token', 'Bearer not-the-token'],
      ['an empty bearer', 'Bearer '],
      ['the token under Basic', `Basic ${CLIENT_TOKEN}`],
      ['the token with no scheme', CLIENT_TOKEN],
      ['a token with a suffix', `Bearer ${CLIENT_TOKEN}x`],
    ])('should answer 401 with a SCIM error for %s', async (_, auth) => {
      for (const [method, path, body] of [['GET', '/Users'], ['GET', `/Users/${MISSING_ID}`], ['POST', '/Users', userBody('nobody')], ['GET', '/ServiceProviderConfig'], ['GET', '/Schemas']] as const) {
        const r = await call(method, path, body, {}, auth);
        expectScimError(r, 401);
        expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    });

    it('should refuse writes with 403 for a token without scim:write, and change nothing', async () => {
      const u = await createUser();
      const g = await createGroup();
      const before = await outboxCount();
      const writes: Array<[string, string, unknown]> = [
        ['POST', '/Users', userBody(uniq('ro'))],
        ['POST', '/Groups', { schemas: [GROUP], displayName: 'ro' }],
        ['PUT', `/Users/${u.id}`, userBody(u.userName, { displayName: 'changed' })],
        ['PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'changed' })],
        ['PATCH', `/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: [{ value: u.id }] })],
        ['DELETE', `/Users/${u.id}`, undefined],
        ['DELETE', `/Groups/${g.id}`, undefined],
      ];
      for (const [method, path, body] of writes) expectScimError(await call(method, path, body, {}, `Bearer ${READER_TOKEN}`), 403);
      expect(await outboxCount()).toBe(before);
      expect((await call('GET', `/Users/${u.id}`)).body).toEqual({ ...u, groups: [] });
      // Reads, .search included, are fine.
      expect((await call('GET', `/Users/${u.id}`, undefined, {}, `Bearer ${READER_TOKEN}`)).status).toBe(200);
      expect((await call('GET', '/Groups', undefined, {}, `Bearer ${READER_TOKEN}`)).status).toBe(200);
      expect((await call('POST', '/Users/.search', { schemas: [SEARCH], filter: `id eq "${u.id}"` }, {}, `Bearer ${READER_TOKEN}`)).body.totalResults).toBe(1);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('ETags', () => {
    it('should answer 412 on an If-Match mismatch and change nothing', async () => {
      const u = await createUser();
      const g = await createGroup(uniq('etag'), [u.id]);
      const before = await outboxCount();
      for (const ifMatch of ['W/"7"', '"7"', 'garbage', 'W/"5", W/"6"']) {
        expectScimError(await call('PUT', `/Users/${u.id}`, userBody(u.userName, { displayName: 'x' }), { 'if-match': ifMatch }), 412);
        expectScimError(await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'x' }), { 'if-match': ifMatch }), 412);
        expectScimError(await call('PATCH', `/Groups/${g.id}`, patch({ op: 'remove', path: 'members' }), { 'if-match': ifMatch }), 412);
        expectScimError(await call('DELETE', `/Users/${u.id}`, undefined, { 'if-match': ifMatch }), 412);
      }
      expect(await outboxCount()).toBe(before);
      const now = await call('GET', `/Users/${u.id}`);
      expect(now.body.meta.version).toBe('W/"1"');
      expect(now.body.displayName).toBe(u.displayName);
      expect((await call('GET', `/Groups/${g.id}`)).body.members).toHaveLength(1);
      // The current ETag (weak or strong form) and `*` pass.
      expect((await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'y' }), { 'if-match': 'W/"1"' })).status).toBe(200);
      expect((await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'z' }), { 'if-match': '"2"' })).status).toBe(200);
      expect((await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'w' }), { 'if-match': '*' })).status).toBe(200);
      expect((await call('DELETE', `/Users/${u.id}`, undefined, { 'if-match': 'W/"4"' })).status).toBe(204);
    });

    it('should answer 304 to If-None-Match with the current ETag', async () => {
      const u = await createUser();
      const r = await call('GET', `/Users/${u.id}`, undefined, { 'if-none-match': 'W/"1"' });
      expect(r.status).toBe(304);
      expect(r.text).toBe('');
      expect(r.headers.etag).toBe('W/"1"');
      expect((await call('GET', `/Users/${u.id}`, undefined, { 'if-none-match': 'W/"0", W/"1"' })).status).toBe(304);
      expect((await call('GET', `/Users/${u.id}`, undefined, { 'if-none-match': '*' })).status).toBe(304);
      expect((await call('GET', `/Users/${u.id}`, undefined, { 'if-none-match': '"1"' })).status).toBe(304);
      const stale = await call('GET', `/Users/${u.id}`, undefined, { 'if-none-match': 'W/"0"' });
      expect(stale.status).toBe(200);
      expect(stale.body.id).toBe(u.id);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('uniqueness', () => {
    it.each([
      ['letter case', 'Alice', 'alice'],
      ['all caps', 'bob.smith@example.org', 'BOB.SMITH@EXAMPLE.ORG'],
      ['Unicode case', 'ÄRGER', 'ärger'],
      ['Unicode normalisation (NFD vs NFC)', 'A\u0308rger2', '\u00e4rger2'],
      ['full case folding', 'STRASSE', 'straße'],
      ['Greek final sigma', 'ΟΔΥΣΣΕΥΣ', 'οδυσσευς'],
    ])('should answer 409 uniqueness for a duplicate userName by %s', async (_, first, second) => {
      const a = `${first}-${db}`;
      const b = `${second}-${db}`;
      const created = await createUser(a);
      const before = await outboxCount();
      expectScimError(await call('POST', '/Users', userBody(b)), 409, 'uniqueness');
      const other = await createUser();
      expectScimError(await call('PUT', `/Users/${other.id}`, userBody(b)), 409, 'uniqueness');
      expectScimError(await call('PATCH', `/Users/${other.id}`, patch({ op: 'replace', path: 'userName', value: b })), 409, 'uniqueness');
      expect(await outboxCount()).toBe(before + 1);
      expect((await listFilter('/Users', `userName eq "${b}"`)).body.Resources.map((x: any) => x.id)).toEqual([created.id]);
    });

    it('should let a user change the case of its own userName', async () => {
      const u = await createUser(uniq('mixed'));
      const r = await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'userName', value: u.userName.toUpperCase() }));
      expect(r.status).toBe(200);
      expect(r.body.userName).toBe(u.userName.toUpperCase());
    });

    it('should not enforce userName uniqueness across Groups (displayName is not unique)', async () => {
      const name = uniq('same');
      await createGroup(name);
      expect((await call('POST', '/Groups', { schemas: [GROUP], displayName: name.toUpperCase() })).status).toBe(201);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('concurrency', () => {
    it('should create exactly one of 10 parallel creates of the same userName', async () => {
      const name = uniq('racer');
      const before = await outboxCount();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => call('POST', '/Users', userBody(i % 2 ? name.toUpperCase() : name))));
      expect(results.map(r => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
      for (const r of results.filter(x => x.status === 409)) expectScimError(r, 409, 'uniqueness');
      expect(await outboxCount()).toBe(before + 1);
      expect((await listFilter('/Users', `userName eq "${name}"`)).body.totalResults).toBe(1);
    });

    it('should lose no member when 10 PATCH adds of different members run in parallel', async () => {
      const users = await Promise.all(Array.from({ length: 10 }, () => createUser()));
      const g = await createGroup(uniq('busy'));
      const before = await outboxCount(g.id);
      const results = await Promise.all(users.map(u => call('PATCH', `/Groups/${g.id}`, patch({ op: 'Add', path: 'members', value: [{ value: u.id }] }))));
      expect(results.map(r => r.status)).toEqual(Array(10).fill(204));
      const after = await call('GET', `/Groups/${g.id}`);
      expect(after.body.members.map((m: any) => m.value).sort()).toEqual(users.map(u => u.id).sort());
      expect(after.body.meta.version).toBe('W/"11"');
      expect(await outboxCount(g.id)).toBe(before + 10);
    });

    it('should keep both when parallel PATCHes add the same member and another', async () => {
      const [a, b] = [await createUser(), await createUser()];
      const g = await createGroup(uniq('dup-add'));
      const results = await Promise.all([a, a, b, a].map(u => call('PATCH', `/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: [{ value: u.id }] }))));
      expect(results.map(r => r.status)).toEqual([204, 204, 204, 204]);
      expect((await call('GET', `/Groups/${g.id}`)).body.members.map((m: any) => m.value).sort()).toEqual([a.id, b.id].sort());
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('hostile and sloppy input', () => {
    it('should answer a SCIM 431 to a filter too long for the URL', async () => {
      const r = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${'x'.repeat(20000)}"`)}`);
      expectScimError(r, 431);
      expect(r.body.detail).toContain('.search');
    });

    it.each([
      ['a truncated object', '{"schemas":['],
      ['a trailing comma', '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x",}'],
      ['single quotes', "{'userName':'x'}"],
      ['trailing garbage', '{"userName":"x"} junk'],
      ['a bare string', '"just a string"'],
      ['null', 'null'],
      ['a number', '42'],
      ['true', 'true'],
      ['a NUL byte', '{"userName":"a\u0000b"}'],
    ])('should answer 400 invalidSyntax to %s as a body', async (_, body) => {
      for (const [method, path] of [['POST', '/Users'], ['POST', '/Groups'], ['PUT', `/Users/${MISSING_ID}`], ['PATCH', `/Groups/${MISSING_ID}`], ['POST', '/Users/.search']]) {
        expectScimError(await raw(method, path, { body, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidSyntax');
      }
    });

    it('should answer 400 invalidSyntax to a JSON array, an empty object or an empty body', async () => {
      for (const body of ['[]', '[{"op":"add"}]', '{}', '']) {
        for (const [method, path] of [['POST', '/Users'], ['POST', '/Groups'], ['PATCH', `/Users/${(await createUser()).id}`]]) {
          expectScimError(await raw(method, path, { body, headers: { 'content-type': 'application/json' } }), 400, 'invalidSyntax');
        }
      }
      expectScimError(await raw('POST', '/Users/.search', { body: '[]', headers: { 'content-type': 'application/json' } }), 400, 'invalidSyntax');
    });

    it('should accept application/json and a charset parameter', async () => {
      const r = await raw('POST', '/Users', { body: JSON.stringify(userBody(uniq('plainjson'))), headers: { 'content-type': 'application/json; charset=utf-8' } });
      expect(r.status).toBe(201);
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['form-encoded', 'application/x-www-form-urlencoded'],
      ['XML', 'application/xml'],
      ['multipart', 'multipart/form-data; boundary=x'],
    ])('should refuse a %s body with 415 and create nothing', async (_, type) => {
      const before = await outboxCount();
      const userName = uniq('ctype');
      const bodies: Record<string, string> = {
        'application/x-www-form-urlencoded': `schemas[]=${encodeURIComponent(USER)}&userName=${userName}`,
      };
      const body = bodies[type] ?? JSON.stringify(userBody(userName));
      expectScimError(await raw('POST', '/Users', { body, headers: { 'content-type': type } }), 415);
      expect(await outboxCount()).toBe(before);
      expect((await listFilter('/Users', `userName eq "${userName}"`)).body.totalResults).toBe(0);
    });

    it('should refuse a body without a Content-Type with 415', async () => {
      expectScimError(await raw('POST', '/Users', { body: JSON.stringify(userBody(uniq('notype'))) }), 415);
    });

    it('should refuse an unsupported charset with 415', async () => {
      expectScimError(await raw('POST', '/Users', { body: JSON.stringify(userBody(uniq('cs'))), headers: { 'content-type': 'application/json; charset=ebcdic' } }), 415);
    });

    it('should answer 413 to a body over the size limit', async () => {
      const big = JSON.stringify(userBody(uniq('big'), { title: 'x'.repeat(11 * 1024 * 1024) }));
      const r = await raw('POST', '/Users', { body: big, headers: { 'content-type': 'application/scim+json' } });
      expectScimError(r, 413);
    });

    it('should answer 400 invalidSyntax to a deeply nested body, and stay up', async () => {
      const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
      for (const n of [200, 100_000]) {
        expectScimError(await raw('POST', '/Users', { body: `{"schemas":["${USER}"],"userName":"${uniq('deep')}","title":${deep(n)}}`, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidSyntax');
        const u = await createUser();
        expectScimError(await raw('PATCH', `/Users/${u.id}`, { body: `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"title","value":${deep(n)}}]}`, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidSyntax');
        expectScimError(await raw('POST', '/Users/.search', { body: `{"schemas":["${SEARCH}"],"filter":${deep(n)}}`, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidFilter');
      }
      // A modest nesting of ordinary attributes still works.
      expect((await call('POST', '/Users', userBody(uniq('nest'), { addresses: [{ type: 'work', streetAddress: '1 Main St', country: 'US' }] }))).status).toBe(201);
    });

    it.each([
      ['schemas missing', { userName: 'x' }, 'invalidSyntax'],
      ['schemas not an array', { schemas: USER, userName: 'x' }, 'invalidSyntax'],
      ['the Group schema on a User', { schemas: [GROUP], userName: 'x' }, 'invalidSyntax'],
      ['userName missing', { schemas: [USER] }, 'invalidValue'],
      ['userName a number', { schemas: [USER], userName: 12345 }, 'invalidValue'],
      ['userName null', { schemas: [USER], userName: null }, 'invalidValue'],
      ['userName an object', { schemas: [USER], userName: { value: 'x' } }, 'invalidValue'],
      ['userName empty', { schemas: [USER], userName: '' }, 'invalidValue'],
      ['userName blank', { schemas: [USER], userName: '   ' }, 'invalidValue'],
      ['userName too long', { schemas: [USER], userName: 'u'.repeat(600) }, 'invalidValue'],
      ['userName that folds too long', { schemas: [USER], userName: 'ß'.repeat(300) }, 'invalidValue'],
      ['userName with a NUL', { schemas: [USER], userName: 'nul\u0000name' }, 'invalidValue'],
      ['a NUL in another attribute', { schemas: [USER], userName: 'nul-elsewhere', title: 'a\u0000b' }, 'invalidValue'],
      ['userName with a lone surrogate', { schemas: [USER], userName: 'half\ud800' }, 'invalidValue'],
      ['active "yes"', { schemas: [USER], userName: 'x', active: 'yes' }, 'invalidValue'],
      ['emails a string', { schemas: [USER], userName: 'x', emails: 'x@example.org' }, 'invalidValue'],
      ['emails one object, not an array', { schemas: [USER], userName: 'x', emails: { value: 'x@example.org' } }, 'invalidValue'],
      ['an email null', { schemas: [USER], userName: 'x', emails: [null] }, 'invalidValue'],
      ['an email a string', { schemas: [USER], userName: 'x', emails: ['x@example.org'] }, 'invalidValue'],
      ['an email primary "yes"', { schemas: [USER], userName: 'x', emails: [{ value: 'x@example.org', primary: 'yes' }] }, 'invalidValue'],
      ['an email value a number', { schemas: [USER], userName: 'x', emails: [{ value: 7 }] }, 'invalidValue'],
      ['name a string', { schemas: [USER], userName: 'x', name: 'Grace Hopper' }, 'invalidValue'],
      ['name.givenName an object', { schemas: [USER], userName: 'x', name: { givenName: { first: 'G' } } }, 'invalidValue'],
      ['title a number', { schemas: [USER], userName: 'x', title: 7 }, 'invalidValue'],
      ['phoneNumbers nested arrays', { schemas: [USER], userName: 'x', phoneNumbers: [[1, 2]] }, 'invalidValue'],
      ['roles an object', { schemas: [USER], userName: 'x', roles: {} }, 'invalidValue'],
      ['an enterprise employeeNumber an object', { schemas: [USER, ENT], userName: 'x', [ENT]: { employeeNumber: { n: 1 } } }, 'invalidValue'],
      ['an enterprise manager an array', { schemas: [USER, ENT], userName: 'x', [ENT]: { manager: [] } }, 'invalidValue'],
      ['active 1', { schemas: [USER], userName: 'x', active: 1 }, 'invalidValue'],
      ['externalId a number', { schemas: [USER], userName: 'x', externalId: 42 }, 'invalidValue'],
      ['externalId too long', { schemas: [USER], userName: 'x', externalId: 'e'.repeat(600) }, 'invalidValue'],
      ['the enterprise extension a string', { schemas: [USER, ENT], userName: 'x', [ENT]: 'Sales' }, 'invalidValue'],
      ['a __proto__ key', JSON.parse(`{"schemas":["${USER}"],"__proto__":{"userName":"proto-user"}}`), 'invalidSyntax'],
      ['an attribute name with a space', { schemas: [USER], userName: 'x', 'bad name': 1 }, 'invalidSyntax'],
      ['an attribute name too long', { schemas: [USER], userName: 'x', ['a'.repeat(600)]: 1 }, 'invalidSyntax'],
    ])('should answer 400 to a User with %s', async (_, body, scimType) => {
      const before = await outboxCount();
      expectScimError(await call('POST', '/Users', body), 400, scimType);
      const u = await createUser();
      expectScimError(await call('PUT', `/Users/${u.id}`, body), 400, scimType);
      expect(await outboxCount()).toBe(before + 1);
    });

    it.each([
      ['displayName missing', { schemas: [GROUP] }, 'invalidValue'],
      ['displayName a number', { schemas: [GROUP], displayName: 7 }, 'invalidValue'],
      ['displayName too long', { schemas: [GROUP], displayName: 'g'.repeat(600) }, 'invalidValue'],
      ['members a string', { schemas: [GROUP], displayName: 'g', members: 'abc' }, 'invalidValue'],
      ['members an object without value', { schemas: [GROUP], displayName: 'g', members: { id: 'x' } }, 'invalidValue'],
      ['a member value a number', { schemas: [GROUP], displayName: 'g', members: [{ value: 5 }] }, 'invalidValue'],
      ['a member null', { schemas: [GROUP], displayName: 'g', members: [null] }, 'invalidValue'],
      ['a member that does not exist', { schemas: [GROUP], displayName: 'g', members: [{ value: MISSING_ID }] }, 'invalidValue'],
      ['a member id with a NUL', { schemas: [GROUP], displayName: 'g', members: [{ value: 'x\u0000' }] }, 'invalidValue'],
      ['a member id too long', { schemas: [GROUP], displayName: 'g', members: [{ value: 'm'.repeat(5000) }] }, 'invalidValue'],
    ])('should answer 400 to a Group with %s', async (_, body, scimType) => {
      const before = await outboxCount();
      expectScimError(await call('POST', '/Groups', body), 400, scimType);
      const g = await createGroup();
      expectScimError(await call('PUT', `/Groups/${g.id}`, body), 400, scimType);
      expect(await outboxCount()).toBe(before + 1);
    });

    it.each([
      ['a random uuid', MISSING_ID],
      ['a non-uuid', 'not-an-id'],
      ['an encoded NUL', '%00'],
      ['an encoded slash path', '..%2F..%2Fetc%2Fpasswd'],
      ['SQL', "1'%20OR%20'1'%3D'1"],
      ['an emoji', '%F0%9F%98%80'],
      ['a very long id', 'a'.repeat(3000)],
      ['a percent sign', '%25'],
      ['a dot', '.search'],
    ])('should answer 404 for %s as an id', async (_, id) => {
      const bodies: Record<string, unknown> = { '/Users': userBody('nobody'), '/Groups': { schemas: [GROUP], displayName: 'nobody' } };
      for (const endpoint of ['/Users', '/Groups']) {
        for (const [method, body] of [['GET'], ['PUT', bodies[endpoint]], ['PATCH', patch({ op: 'replace', path: 'displayName', value: 'x' })], ['DELETE']] as Array<[string, unknown?]>) {
          expectScimError(await call(method, `${endpoint}/${id}`, body), 404);
        }
      }
    });

    it('should answer 400 for an id that is not valid percent-encoding', async () => {
      expectScimError(await call('GET', '/Users/%E0%A4%A'), 400, 'invalidSyntax');
      expectScimError(await call('GET', '/Users/%FF'), 400, 'invalidSyntax');
      expectScimError(await call('DELETE', '/Groups/%C0%AF'), 400, 'invalidSyntax');
    });

    it('should answer 404 with a SCIM error for unknown endpoints and methods', async () => {
      expectScimError(await call('GET', '/Printers'), 404);
      expectScimError(await call('GET', '/Bulk'), 404);
      expectScimError(await call('PATCH', '/Users', patch({ op: 'add', path: 'title', value: 'x' })), 404);
      expectScimError(await call('DELETE', '/Groups'), 404);
      expectScimError(await call('GET', '/Users/a/b'), 404);
    });

    it.each([
      ['no PatchOp schema', { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
      ['the User schema instead of PatchOp', { schemas: [USER], Operations: [{ op: 'add', path: 'title', value: 'x' }] }, 'invalidSyntax'],
      ['Operations missing', { schemas: [PATCH_OP] }, 'invalidSyntax'],
      ['Operations empty', { schemas: [PATCH_OP], Operations: [] }, 'invalidSyntax'],
      ['Operations an object', { schemas: [PATCH_OP], Operations: { op: 'add', path: 'title', value: 'x' } }, 'invalidSyntax'],
      ['an operation null', patch(null), 'invalidSyntax'],
      ['an operation a string', patch('add'), 'invalidSyntax'],
      ['op "copy"', patch({ op: 'copy', path: 'title', value: 'x' }), 'invalidSyntax'],
      ['op "move"', patch({ op: 'move', from: 'title', path: 'nickName' }), 'invalidSyntax'],
      ['op "test"', patch({ op: 'test', path: 'title', value: 'x' }), 'invalidSyntax'],
      ['op missing', patch({ path: 'title', value: 'x' }), 'invalidSyntax'],
      ['op a number', patch({ op: 1, path: 'title', value: 'x' }), 'invalidSyntax'],
      ['add without a value', patch({ op: 'add', path: 'title' }), 'invalidSyntax'],
      ['replace without a path and a string value', patch({ op: 'replace', value: 'x' }), 'invalidSyntax'],
      ['add without a path and an array value', patch({ op: 'add', value: [{ title: 'x' }] }), 'invalidSyntax'],
      ['remove without a path', patch({ op: 'remove' }), 'noTarget'],
      ['remove without a path but a value', patch({ op: 'remove', value: { title: 'x' } }), 'noTarget'],
      ['a path that is a number', patch({ op: 'add', path: 7, value: 'x' }), 'invalidPath'],
      ['an unclosed filter', patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }), 'invalidPath'],
      ['an empty filter', patch({ op: 'replace', path: 'emails[].value', value: 'x' }), 'invalidPath'],
      ['a double dot', patch({ op: 'replace', path: 'name..givenName', value: 'x' }), 'invalidPath'],
      ['a path with spaces', patch({ op: 'replace', path: 'given name', value: 'x' }), 'invalidPath'],
      ['a path with a NUL', patch({ op: 'replace', path: 'title\u0000', value: 'x' }), 'invalidPath'],
      ['a very long path', patch({ op: 'replace', path: 'a'.repeat(5000), value: 'x' }), 'invalidPath'],
      ['a sub-attribute of a multi-valued attribute without a filter', patch({ op: 'replace', path: 'emails.value', value: 'x@example.org' }), 'invalidPath'],
      ['a filtered path with a non-object value', patch({ op: 'add', path: 'emails[type eq "home"]', value: 'x@example.org' }), 'invalidValue'],
      ['a filter value with a bad escape', patch({ op: 'replace', path: 'emails[type eq "\\q"].value', value: 'x' }), 'invalidPath'],
      ['the bare core URN as a path', patch({ op: 'replace', path: USER, value: { userName: 'x' } }), 'invalidPath'],
      ['the Group core URN', patch({ op: 'replace', path: `${GROUP}:displayName`, value: 'x' }), 'invalidPath'],
      ['a nested __proto__ key', JSON.parse(`{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"name","value":{"__proto__":{"x":1}}}]}`), 'invalidSyntax'],
      ['a deeply nested value', patch({ op: 'add', path: 'title', value: JSON.parse('['.repeat(50) + ']'.repeat(50)) }), 'invalidSyntax'],
      ['a __proto__ key in a no-path value', JSON.parse(`{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","value":{"__proto__":{"userName":"p"}}}]}`), 'invalidPath'],
      ['id', patch({ op: 'replace', path: 'id', value: MISSING_ID }), 'mutability'],
      ['ID in capitals', patch({ op: 'replace', path: 'ID', value: MISSING_ID }), 'mutability'],
      ['meta', patch({ op: 'replace', path: 'meta', value: {} }), 'mutability'],
      ['meta.created', patch({ op: 'replace', path: 'meta.created', value: '2001-01-01T00:00:00Z' }), 'mutability'],
      ['groups', patch({ op: 'add', path: 'groups', value: [{ value: MISSING_ID }] }), 'mutability'],
      ['id in a no-path value', patch({ op: 'replace', value: { id: MISSING_ID } }), 'mutability'],
      ['a URN-qualified id', patch({ op: 'replace', path: `${USER}:id`, value: MISSING_ID }), 'mutability'],
      ['a URN-qualified groups', patch({ op: 'add', path: `${USER}:groups`, value: [{ value: MISSING_ID }] }), 'mutability'],
      ['remove userName', patch({ op: 'remove', path: 'userName' }), 'invalidValue'],
      ['userName a number', patch({ op: 'replace', path: 'userName', value: 12 }), 'invalidValue'],
      ['userName too long', patch({ op: 'replace', path: 'userName', value: 'u'.repeat(600) }), 'invalidValue'],
      ['userName with a NUL', patch({ op: 'replace', path: 'userName', value: 'a\u0000' }), 'invalidValue'],
      ['active "yes"', patch({ op: 'replace', path: 'active', value: 'yes' }), 'invalidValue'],
      ['active "yes" in a no-path value', patch({ op: 'replace', value: { active: 'yes' } }), 'invalidValue'],
      ['emails replaced by a string', patch({ op: 'replace', path: 'emails', value: 'x@example.org' }), 'invalidValue'],
      ['an email added as a string', patch({ op: 'add', path: 'emails', value: 'x@example.org' }), 'invalidValue'],
      ['name.givenName an array', patch({ op: 'replace', path: 'name.givenName', value: ['a'] }), 'invalidValue'],
      ['name replaced by a string', patch({ op: 'replace', path: 'name', value: 'Grace' }), 'invalidValue'],
      ['a filtered primary "maybe"', patch({ op: 'replace', path: 'emails[type eq "work"].primary', value: 'maybe' }), 'invalidValue'],
      ['a lone surrogate', patch({ op: 'replace', path: 'title', value: '\udfff' }), 'invalidValue'],
      ['externalId a number', patch({ op: 'replace', path: 'externalId', value: 5 }), 'invalidValue'],
      ['password an object', patch({ op: 'replace', path: 'password', value: { x: 1 } }), 'invalidValue'],
      ['the enterprise extension set to a string', patch({ op: 'replace', path: ENT, value: 'Sales' }), 'invalidValue'],
    ])('should answer 400 to a User PATCH with %s, and change nothing', async (_, body, scimType) => {
      const u = await createUser();
      const before = await outboxCount();
      expectScimError(await call('PATCH', `/Users/${u.id}`, body), 400, scimType);
      expect(await outboxCount()).toBe(before);
      const now = await call('GET', `/Users/${u.id}`);
      expect(now.body).toEqual(u);
      expect(Object.getPrototypeOf(now.body)).toBe(Object.prototype);
    });

    it('should roll back every operation of a PATCH when one fails', async () => {
      const u = await createUser();
      const g = await createGroup(uniq('atomic'), [u.id]);
      const v = await createUser();
      expectScimError(await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: 'first' }, { op: 'replace', path: 'id', value: 'x' })), 400, 'mutability');
      expectScimError(await call('PATCH', `/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: [{ value: v.id }] }, { op: 'add', path: 'members', value: [{ value: MISSING_ID }] })), 400, 'invalidValue');
      expect((await call('GET', `/Users/${u.id}`)).body.displayName).toBe(u.displayName);
      expect((await call('GET', `/Groups/${g.id}`)).body.members.map((m: any) => m.value)).toEqual([u.id]);
    });

    it.each([
      ['members not an array or object', patch({ op: 'add', path: 'members', value: 'abc' }), 'invalidValue'],
      ['a member without value', patch({ op: 'add', path: 'members', value: [{ display: 'x' }] }), 'invalidValue'],
      ['a member that does not exist', patch({ op: 'add', path: 'members', value: [{ value: MISSING_ID }] }), 'invalidValue'],
      ['a member id with a NUL', patch({ op: 'add', path: 'members', value: [{ value: 'x\u0000' }] }), 'invalidValue'],
      ['a remove filter value with a NUL', patch({ op: 'remove', path: 'members[value eq "x\\u0000"]' }), 'invalidPath'],
      ['a remove filter on display', patch({ op: 'remove', path: 'members[display eq "x"]' }), 'invalidFilter'],
      ['a members sub-attribute', patch({ op: 'replace', path: 'members.value', value: 'x' }), 'mutability'], // immutable (RFC 7643 §8.7.1)
      ['an unknown members sub-attribute', patch({ op: 'replace', path: 'members.foo', value: 'x' }), 'invalidPath'],
      ['a remove filter with a bad escape', patch({ op: 'remove', path: 'members[value eq "\\q"]' }), 'invalidPath'],
      ['a remove filter with a leading-zero number', patch({ op: 'remove', path: 'members[value eq 01]' }), 'invalidPath'],
      ['the User core URN', patch({ op: 'replace', path: `${USER}:userName`, value: 'x' }), 'invalidPath'],
      ['displayName removed', patch({ op: 'remove', path: 'displayName' }), 'invalidValue'],
      ['displayName empty', patch({ op: 'replace', path: 'displayName', value: '' }), 'invalidValue'],
      ['id', patch({ op: 'replace', path: 'id', value: 'x' }), 'mutability'],
      ['a URN-qualified id', patch({ op: 'replace', path: `${GROUP}:id`, value: 'x' }), 'mutability'],
    ])('should answer 400 to a Group PATCH with %s, and change nothing', async (_, body, scimType) => {
      const u = await createUser();
      const g = await createGroup(uniq('pg'), [u.id]);
      const before = await outboxCount();
      expectScimError(await call('PATCH', `/Groups/${g.id}`, body), 400, scimType);
      expect(await outboxCount()).toBe(before);
      expect((await call('GET', `/Groups/${g.id}`)).body).toEqual(g);
    });

    it('should keep a Group core-URN path on the Group, and schemas under server control', async () => {
      const g = await createGroup();
      const r = await call('PATCH', `/Groups/${g.id}?excludedAttributes=members`, patch({ op: 'replace', path: `${GROUP}:displayName`, value: 'urn-named' }, { op: 'replace', path: 'schemas', value: ['junk'] }));
      expect(r.status).toBe(200);
      expect(r.body.displayName).toBe('urn-named');
      expect(r.body.schemas).toEqual([GROUP]);
      expect(Object.keys(r.body).filter(k => k.startsWith('urn:'))).toEqual([]);
    });

    it('should hash a password set through a URN-qualified path, never store it in clear', async () => {
      const u = await createUser();
      expect((await call('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: `${USER}:password`, value: 'Cleartext-123' }))).status).toBe(200);
      const rows = await h.get(DbService).manager.query(`SELECT doc FROM scim_resource WHERE id = '${u.id}'`);
      expect(rows[0].doc).not.toContain('Cleartext-123');
      expect(JSON.parse(rows[0].doc).password).toMatch(/^scrypt\$/);
    });

    it.each([
      ['a missing value', 'userName eq'],
      ['an unterminated string', 'userName eq "x'],
      ['an unclosed parenthesis', '(userName eq "x"'],
      ['an unknown operator', 'userName zz "x"'],
      ['a dangling and', 'userName eq "x" and'],
      ['a value first', '"x" eq userName'],
      ['single quotes', "userName eq 'x'"],
      ['only spaces', '   '],
      ['a lone keyword', 'and'],
      ['a bad escape', 'userName eq "\\q"'],
      ['too long', `userName eq "${'x'.repeat(3000)}"`],
      ['too deep', `${'('.repeat(40)}userName eq "x"${')'.repeat(40)}`],
      ['an unknown attribute', 'nickname2 eq "x"'],
      ['an unknown sub-attribute', 'name.middle eq "x"'],
      ['an unknown extension attribute', `${ENT}:shoeSize eq "x"`],
      ['a boolean compared with a word', 'active eq "yes"'],
      ['gt on a boolean', 'active gt true'],
      ['an escaped NUL', 'userName eq "\\u0000"'],
    ])('should answer 400 invalidFilter to a filter with %s', async (_, filter) => {
      expectScimError(await listFilter('/Users', filter), 400, 'invalidFilter');
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], filter }), 400, 'invalidFilter');
    });

    it('should answer 400 invalidFilter to a filter given twice or not a string', async () => {
      expectScimError(await call('GET', '/Users?filter=userName%20eq%20%22a%22&filter=userName%20eq%20%22b%22'), 400, 'invalidFilter');
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], filter: { userName: 'x' } }), 400, 'invalidFilter');
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], filter: 42 }), 400, 'invalidFilter');
    });

    it('should answer a filter on a Group-only attribute for Users with 400, and the reverse', async () => {
      expectScimError(await listFilter('/Users', `members.value eq "${MISSING_ID}"`), 400, 'invalidFilter');
      expectScimError(await listFilter('/Groups', 'userName eq "x"'), 400, 'invalidFilter');
    });

    it('should read startIndex < 1 as 1 and count < 0 as 0 (RFC 7644 §3.4.2.4)', async () => {
      await createUser();
      const all = await call('GET', '/Users');
      for (const q of ['startIndex=0', 'startIndex=-5', 'startIndex=-99999999999999999999']) {
        const r = await call('GET', `/Users?${q}`);
        expect(r.status).toBe(200);
        expect(r.body.startIndex).toBe(1);
        expect(r.body.Resources.map((x: any) => x.id)).toEqual(all.body.Resources.map((x: any) => x.id));
      }
      for (const q of ['count=-1', 'count=-1000000']) {
        const r = await call('GET', `/Users?${q}`);
        expect(r.body).toMatchObject({ totalResults: all.body.totalResults, itemsPerPage: 0, Resources: [] });
      }
      const capped = await call('GET', '/Users?count=100000');
      expect(capped.status).toBe(200);
      expect(capped.body.itemsPerPage).toBeLessThanOrEqual(1000);
    });

    it('should answer huge startIndex values with an empty page, not an error', async () => {
      for (const q of ['startIndex=9007199254740993', 'startIndex=1e20', 'startIndex=1e300', 'startIndex=99999999999999999999999', 'count=1e300']) {
        const r = await call('GET', `/Users?${q}`);
        expect({ q, status: r.status }).toEqual({ q, status: 200 });
        expect(r.body.schemas).toEqual([LIST]);
      }
      const r = await call('POST', '/Users/.search', { schemas: [SEARCH], startIndex: 1e300, count: 5 });
      expect(r.status).toBe(200);
      expect(r.body.Resources).toEqual([]);
    });

    it.each([
      ['startIndex=abc'], ['count=ten'], ['startIndex=1x'], ['count=Infinity'], ['startIndex=NaN'], ['count=1&count=2'],
    ])('should answer 400 invalidValue to %s', async q => {
      expectScimError(await call('GET', `/Users?${q}`), 400, 'invalidValue');
    });

    it('should ignore bracketed query keys (the query parser keeps them as plain names)', async () => {
      const all = await call('GET', '/Users');
      for (const q of ['filter[a]=b', 'startIndex[a]=5', 'count[$gt]=1']) {
        const r = await call('GET', `/Users?${q}`);
        expect(r.status).toBe(200);
        expect(r.body.totalResults).toBe(all.body.totalResults);
      }
    });

    it('should answer 400 invalidValue to non-numeric paging in a .search body', async () => {
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], count: 'ten' }), 400, 'invalidValue');
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], startIndex: { n: 1 } }), 400, 'invalidValue');
      expectScimError(await call('POST', '/Users/.search', { schemas: [SEARCH], startIndex: [1] }), 400, 'invalidValue');
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      expectScimError(await raw('POST', '/Users/.search', { body: `{"schemas":["${SEARCH}"],"count":${deep}}`, headers: { 'content-type': 'application/scim+json' } }), 400, 'invalidValue');
    });

    it('should ignore an odd X-Correlation-Id rather than store it', async () => {
      const r = await call('POST', '/Users', userBody(uniq('corr')), { 'x-correlation-id': 'x'.repeat(500) });
      expect(r.status).toBe(201);
      const rows = await h.get(DbService).manager.query(`SELECT correlation_id FROM change_event WHERE resource_id = '${r.body.id}'`);
      expect(rows[0].correlation_id.length).toBeLessThanOrEqual(64);
    });

    it('should not append a value that a PATCH add finds already present (RFC 7644 §3.5.2.1)', async () => {
      const u = await createUser();
      const r = await call('PATCH', `/Users/${u.id}`, patch({ op: 'add', path: 'emails', value: [{ value: `${u.userName}@example.org`, type: 'work', primary: true }, { value: 'other@example.org', type: 'home' }] }));
      expect(r.body.emails).toEqual([{ value: `${u.userName}@example.org`, type: 'work', primary: true }, { value: 'other@example.org', type: 'home' }]);
    });

    it('should still serve every endpoint after the abuse above', async () => {
      const u = await createUser();
      expect((await call('GET', `/Users/${u.id}`)).status).toBe(200);
      expect((await call('GET', '/Users?count=1')).status).toBe(200);
      expect((await call('GET', '/ServiceProviderConfig')).status).toBe(200);
    });
  });
});
