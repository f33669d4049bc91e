import { DbService } from '../../src/db/db.service.js';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_SIZE } from '../../src/scim/bulk/bulk.constants.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * `POST /scim/v2/Bulk` (RFC 7644 §3.7) as an IdP uses it: bulkId references (forward ones included),
 * PATCH / PUT / DELETE, circular references, failOnErrors and the size limits. Every successful
 * operation must have gone through the one write path: exactly one outbox row each.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const READER_TOKEN = 'test-bulk-reader-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], ...extra, Operations });
const user = (userName: string) => ({ schemas: [USER], userName });
const group = (displayName: string, ...members: Array<{ value: string; type?: string }>) => ({ schemas: [GROUP], displayName, members });
const idOf = (location: string): string => location.split('/').pop()!;

describe.each(storeKinds())('SCIM Bulk (%s)', db => {
  let h: Harness;
  let seq = 0;
  const uniq = (p: string) => `${p}-${++seq}-${db}`;

  beforeAll(async () => {
    h = await Harness.start({ db, clients: [{ id: 'reader', token: READER_TOKEN, scopes: ['scim:read'] }] });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function outbox(resourceId?: string): Promise<number> {
    if (resourceId !== undefined && !UUID.test(resourceId)) throw new Error(`not an id: ${resourceId}`);
    const where = resourceId ? ` WHERE resource_id = '${resourceId}'` : '';
    const [{ n }] = await h.get(DbService).manager.query(`SELECT COUNT(*) AS n FROM change_event${where}`);
    return Number(n);
  }

  function expectScimError(r: { status: number; body: any; headers: Record<string, unknown> }, status: number): void {
    expect({ status: r.status, type: String(r.headers['content-type']).split(';')[0] }).toEqual({ status, type: 'application/scim+json' });
    expect(r.body).toEqual({ schemas: [ERROR], status: String(status), detail: expect.any(String) });
  }

  it('should create users and a group that refers to them by bulkId, the group first', async () => {
    const before = await outbox();
    const [a, b, g] = [uniq('ann'), uniq('bob'), uniq('staff')];
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Groups', bulkId: 'g1', data: group(g, { value: 'bulkId:u1' }, { value: 'bulkId:u2', type: 'User' }) },
      { method: 'POST', path: '/Users', bulkId: 'u1', data: user(a) },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: user(b) },
    ]));
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toMatch(/^application\/scim\+json/);
    expect(r.body.schemas).toEqual([BULK_RESPONSE]);
    const ops = r.body.Operations;
    expect(ops).toEqual([
      { method: 'POST', bulkId: 'u1', status: '201', location: expect.stringMatching(/\/scim\/v2\/Users\/[0-9a-f-]{36}$/), version: 'W/"1"' },
      { method: 'POST', bulkId: 'u2', status: '201', location: expect.stringMatching(/\/scim\/v2\/Users\/[0-9a-f-]{36}$/), version: 'W/"1"' },
      { method: 'POST', bulkId: 'g1', status: '201', location: expect.stringMatching(/\/scim\/v2\/Groups\/[0-9a-f-]{36}$/), version: 'W/"1"' },
    ]);
    const [u1, u2, gid] = ops.map((o: { location: string }) => idOf(o.location));
    const got = await h.scim('GET', `/Groups/${gid}`);
    expect(got.body.displayName).toBe(g);
    expect(got.body.members.map((m: { value: string }) => m.value).sort()).toEqual([u1, u2].sort());
    expect((await h.scim('GET', `/Users/${u1}`)).body.groups).toEqual([expect.objectContaining({ value: gid })]);
    for (const id of [u1, u2, gid]) expect(await outbox(id)).toBe(1);
    expect(await outbox()).toBe(before + 3);
  });

  it('should PATCH, PUT and DELETE in bulk, resolving bulkIds in paths and PATCH values', async () => {
    const seed = await h.scim('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'keep', data: user(uniq('keep')) },
      { method: 'POST', path: '/Users', bulkId: 'gone', data: user(uniq('gone')) },
    ]));
    const [keep, gone] = seed.body.Operations.map((o: { location: string }) => idOf(o.location));
    const before = await outbox();
    const renamed = uniq('renamed');
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'PATCH', path: '/Groups/bulkId:team', data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:new' }] }] } },
      { method: 'POST', path: '/Groups', bulkId: 'team', data: group(uniq('team'), { value: keep }) },
      { method: 'POST', path: '/Users', bulkId: 'new', data: user(uniq('new')) },
      { method: 'PUT', path: `/Users/${keep}`, version: 'W/"1"', data: { ...user(renamed), displayName: 'Kept' } },
      { method: 'DELETE', path: `/Users/${gone}`, version: 'W/"1"' },
    ]));
    expect(r.status).toBe(200);
    const ops = r.body.Operations;
    expect(ops.map((o: { method: string; status: string; bulkId?: string }) => [o.method, o.status, o.bulkId])).toEqual([
      ['POST', '201', 'team'], ['POST', '201', 'new'], ['PATCH', '200', undefined], ['PUT', '200', undefined], ['DELETE', '204', undefined],
    ]);
    const [team, created] = [idOf(ops[0].location), idOf(ops[1].location)];
    expect(ops[2]).toEqual({ method: 'PATCH', status: '200', location: expect.stringMatching(new RegExp(`/Groups/${team}$`)), version: 'W/"2"' });
    expect(ops[3]).toEqual({ method: 'PUT', status: '200', location: expect.stringMatching(new RegExp(`/Users/${keep}$`)), version: 'W/"2"' });
    expect(ops[4]).toEqual({ method: 'DELETE', status: '204', location: expect.stringMatching(new RegExp(`/Users/${gone}$`)) });

    const g = await h.scim('GET', `/Groups/${team}`);
    expect(g.body.members.map((m: { value: string }) => m.value).sort()).toEqual([keep, created].sort());
    expect((await h.scim('GET', `/Users/${keep}`)).body).toMatchObject({ userName: renamed, displayName: 'Kept' });
    expect((await h.scim('GET', `/Users/${gone}`)).status).toBe(404);
    expect(await outbox(team)).toBe(2);
    expect(await outbox()).toBe(before + 5);
  });

  it('should report a version mismatch as 412 for that operation only', async () => {
    const seed = await h.scim('POST', '/Users', user(uniq('etag')));
    const before = await outbox();
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'PATCH', path: `/Users/${seed.body.id}`, version: 'W/"7"', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'X' }] } },
      { method: 'POST', path: '/Users', bulkId: 'fine', data: user(uniq('fine')) },
    ]));
    expect(r.body.Operations).toEqual([
      { method: 'PATCH', status: '412', response: { schemas: [ERROR], status: '412', detail: expect.stringContaining('ETag') } },
      expect.objectContaining({ method: 'POST', bulkId: 'fine', status: '201' }),
    ]);
    expect(await outbox()).toBe(before + 1);
  });

  it('should answer 409 per operation for circular bulkId references and run the rest', async () => {
    const before = await outbox();
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Groups', bulkId: 'ga', data: group(uniq('ga'), { value: 'bulkId:gb', type: 'Group' }) },
      { method: 'POST', path: '/Groups', bulkId: 'gb', data: group(uniq('gb'), { value: 'bulkId:ga', type: 'Group' }) },
      { method: 'PATCH', path: '/Groups/bulkId:ga', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] } },
      { method: 'POST', path: '/Users', bulkId: 'free', data: user(uniq('free')) },
    ]));
    expect(r.status).toBe(200);
    const conflict = (detail: RegExp) => ({ schemas: [ERROR], status: '409', detail: expect.stringMatching(detail) });
    expect(r.body.Operations).toEqual([
      expect.objectContaining({ method: 'POST', bulkId: 'free', status: '201' }),
      { method: 'POST', bulkId: 'ga', status: '409', response: conflict(/^Circular bulkId reference/) },
      { method: 'POST', bulkId: 'gb', status: '409', response: conflict(/^Circular bulkId reference/) },
      { method: 'PATCH', status: '409', response: conflict(/circular reference/) },
    ]);
    expect(await outbox()).toBe(before + 1);
  });

  it('should fail an operation whose bulkId belongs to a failed POST, and one that names an unknown bulkId', async () => {
    const taken = uniq('taken');
    await h.scim('POST', '/Users', user(taken));
    const before = await outbox();
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'dup', data: user(taken) },
      { method: 'POST', path: '/Groups', bulkId: 'grp', data: group(uniq('grp'), { value: 'bulkId:dup' }) },
      { method: 'DELETE', path: '/Users/bulkId:nobody' },
    ]));
    expect(r.body.Operations).toEqual([
      { method: 'POST', bulkId: 'dup', status: '409', response: { schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: expect.any(String) } },
      { method: 'POST', bulkId: 'grp', status: '409', response: { schemas: [ERROR], status: '409', detail: expect.stringContaining('bulkId:dup') } },
      { method: 'DELETE', status: '400', response: { schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: expect.stringContaining('bulkId:nobody') } },
    ]);
    expect(await outbox()).toBe(before);
  });

  it('should stop after failOnErrors errors and leave the remaining operations unprocessed', async () => {
    const taken = uniq('first');
    await h.scim('POST', '/Users', user(taken));
    const before = await outbox();
    const later = uniq('later');
    const r = await h.scim('POST', '/Bulk', bulk([
      { method: 'POST', path: '/Users', bulkId: 'ok', data: user(uniq('ok')) },
      { method: 'POST', path: '/Users', bulkId: 'clash', data: user(taken) },
      { method: 'POST', path: '/Users', bulkId: 'later', data: user(later) },
    ], { failOnErrors: 1 }));
    expect(r.status).toBe(200);
    expect(r.body.Operations.map((o: { bulkId: string; status: string }) => [o.bulkId, o.status])).toEqual([['ok', '201'], ['clash', '409']]);
    const found = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${later}"`)}`);
    expect(found.body.totalResults).toBe(0);
    expect(await outbox()).toBe(before + 1);
  });

  it('should answer 413 when there are more than maxOperations operations', async () => {
    const before = await outbox();
    const ops = Array.from({ length: BULK_MAX_OPERATIONS + 1 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: user(`many-${i}-${db}`) }));
    const r = await h.scim('POST', '/Bulk', bulk(ops));
    expectScimError(r, 413);
    expect(r.body.detail).toContain(String(BULK_MAX_OPERATIONS));
    expect(await outbox()).toBe(before);
  });

  it('should answer 413 when the raw body is larger than maxPayloadSize', async () => {
    const before = await outbox();
    // Padding in whitespace: the parsed body is tiny, only the bytes on the wire are too many.
    const text = JSON.stringify(bulk([{ method: 'POST', path: '/Users', bulkId: 'big', data: user(uniq('big')) }])).replace('{', `{${' '.repeat(BULK_MAX_PAYLOAD_SIZE)}`);
    const r = await h.scim('POST', '/Bulk', text);
    expectScimError(r, 413);
    expect(r.body.detail).toContain(String(BULK_MAX_PAYLOAD_SIZE));
    expect(await outbox()).toBe(before);
  });

  it('should advertise bulk support with its limits', async () => {
    const r = await h.scim('GET', '/ServiceProviderConfig');
    expect(r.body.bulk).toEqual({ supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD_SIZE });
  });

  it('should reject a request that is not a BulkRequest with 400 invalidSyntax', async () => {
    const r = await h.scim('POST', '/Bulk', { schemas: [PATCH_OP], Operations: [] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
  });

  it('should refuse a token without scim:write with 403', async () => {
    const r = await h.scim('POST', '/Bulk', bulk([{ method: 'POST', path: '/Users', bulkId: 'x', data: user(uniq('ro')) }]), { authorization: `Bearer ${READER_TOKEN}` });
    expectScimError(r, 403);
  });
});
