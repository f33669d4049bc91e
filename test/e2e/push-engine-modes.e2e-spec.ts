import { request } from 'undici';
import { DownstreamApp, ScimObject } from '../downstream/downstream-app.js';
import { FaultProxy, startFaultProxy } from '../downstream/fault-proxy.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { pushQueueName } from '../../src/pipeline/queue-names.js';
import { TargetLinkService } from '../../src/targets/target-link.service.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const userBody = (name: string) => ({
  schemas: [USER, ENT],
  userName: `${name}@corp.example.com`,
  name: { givenName: name, familyName: 'Tester' },
  displayName: `${name} Tester`,
  title: 'Engineer',
  emails: [{ value: `${name}@example.com`, type: 'work', primary: true }],
  active: true,
  [ENT]: { department: 'R&D' },
});

async function remote(app: { url: string }, method: 'GET' | 'PUT' | 'DELETE', id: string, body?: unknown): Promise<ScimObject | undefined> {
  const res = await request(`${app.url}/Users/${id}`, {
    method, headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return text ? (JSON.parse(text) as ScimObject) : undefined;
}

describe('push engine: resync modes and provision on demand (lenient app)', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;
  let jobs: JobQueueService;

  beforeAll(async () => {
    app = await startScimmyApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
    h = await Harness.start({ targets: [{ id: 'app', baseUrl: proxy.url, resourceTypes: ['User', 'Group'] }] });
    jobs = h.get(JobQueueService);
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  const userAt = (userName: string) => app.users().find(u => u.userName === userName)!;

  it('readBack should repair an edit made in the app, and re-create an account deleted there', async () => {
    const id = (await h.scim('POST', '/Users', userBody('rita'))).body.id as string;
    await h.drain();
    const before = userAt('rita@corp.example.com');
    // An app admin edits the account out of band; Switchboard's last pushed state does not know.
    await remote(app, 'PUT', before.id!, { ...before, title: 'Hacked', displayName: 'Someone Else', nickName: 'app-only' });
    expect(userAt('rita@corp.example.com').title).toBe('Hacked');

    const live = await jobs.provisionNow('app', 'User', id, 'live');
    expect(live.outcome).toBe('unchanged'); // live trusts the last pushed state: no HTTP call
    expect(live.steps.filter(s => s.kind === 'http')).toHaveLength(0);

    const repaired = await jobs.provisionNow('app', 'User', id, 'readBack');
    expect(repaired.outcome).toBe('updated');
    const diff = repaired.steps.find(s => s.kind === 'diff');
    expect(diff).toMatchObject({ base: 'remote', via: 'patch' });
    expect(diff && diff.kind === 'diff' ? diff.operations.map(o => o.path).sort() : []).toEqual(['displayName', 'title']);
    const calls = repaired.steps.flatMap(s => (s.kind === 'http' ? [`${s.call.method} ${s.call.status}`] : []));
    expect(calls).toEqual(['GET 200', 'PATCH 200']);
    const after = userAt('rita@corp.example.com');
    expect(after.title).toBe('Engineer');
    expect(after.displayName).toBe('rita Tester');
    expect(after.nickName).toBe('app-only'); // not mapped by us: left alone

    // Deleted in the app: readBack gets 404 and creates it again (matching finds nothing first).
    await remote(app, 'DELETE', after.id!);
    const recreated = await jobs.provisionNow('app', 'User', id, 'readBack');
    expect(recreated.outcome).toBe('created');
    expect(recreated.steps.flatMap(s => (s.kind === 'http' ? [`${s.call.method} ${s.call.status}`] : []))).toEqual(['GET 404', 'GET 200', 'POST 201']);
    const again = userAt('rita@corp.example.com');
    expect(again.id).not.toBe(after.id);
    expect((await h.get(TargetLinkService).get('app', id))!.remoteId).toBe(again.id);
  });

  it('readBack of a group should restore members removed in the app', async () => {
    const a = (await h.scim('POST', '/Users', userBody('gail'))).body.id as string;
    const b = (await h.scim('POST', '/Users', userBody('gus'))).body.id as string;
    const g = (await h.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'rb-team', members: [{ value: a }, { value: b }] })).body.id as string;
    await h.drain();
    const remoteGroup = app.groups().find(x => x.displayName === 'rb-team')!;
    expect((remoteGroup.members as unknown[]).length).toBe(2);
    // An app admin removes gus from the group.
    const gail = userAt('gail@corp.example.com');
    const res = await request(`${app.url}/Groups/${remoteGroup.id}`, {
      method: 'PUT', headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'rb-team', members: [{ value: gail.id }] }),
    });
    await res.body.text();
    expect((app.groups().find(x => x.id === remoteGroup.id)!.members as unknown[]).length).toBe(1);

    const live = await jobs.provisionNow('app', 'Group', g, 'live');
    expect(live.outcome).toBe('unchanged'); // the shadow still says "both pushed"
    const repaired = await jobs.provisionNow('app', 'Group', g, 'readBack');
    expect(repaired.steps.find(s => s.kind === 'members')).toMatchObject({ added: 1, removed: 0, requests: 1, via: 'patch' });
    const members = (app.groups().find(x => x.id === remoteGroup.id)!.members as Array<{ value: string }>).map(m => m.value).sort();
    expect(members).toEqual([gail.id, userAt('gus@corp.example.com').id].sort());
  });

  it('force should send every mapped attribute although the hash is unchanged', async () => {
    const id = (await h.scim('POST', '/Users', userBody('fred'))).body.id as string;
    await h.drain();
    const remoteId = userAt('fred@corp.example.com').id!;
    const writes = () => proxy.requests.filter(r => r.path.includes(remoteId) && r.method !== 'GET').length;
    const n0 = writes();
    await jobs.enqueuePush({ targetId: 'app', resourceType: 'User', resourceId: id, version: 0, mode: 'live', correlationId: 'test' }, { kind: 'replay', n: 1 });
    await h.drain();
    expect(writes()).toBe(n0); // unchanged hash: no HTTP call

    const forced = await jobs.provisionNow('app', 'User', id, 'force');
    expect(forced.outcome).toBe('updated');
    const diff = forced.steps.find(s => s.kind === 'diff');
    const paths = diff && diff.kind === 'diff' ? diff.operations.map(o => o.path) : [];
    expect(paths).toEqual(expect.arrayContaining(['userName', 'name', 'displayName', 'title', 'emails', 'active', 'externalId', `${ENT}:department`]));
    expect(diff && diff.kind === 'diff' ? diff.operations.every(o => o.op === 'replace') : false).toBe(true);
    expect(writes()).toBe(n0 + 1);
    const map = forced.steps.find(s => s.kind === 'map');
    expect(map && map.kind === 'map' ? map.payload.userName : undefined).toBe('fred@corp.example.com');
    expect(JSON.stringify(forced)).not.toMatch(/password/i);
  });

  it('provision on demand should wait for a running push of the same user, never run beside it, and return the trace', async () => {
    const id = (await h.scim('POST', '/Users', userBody('paula'))).body.id as string;
    await h.drain();
    const remoteId = userAt('paula@corp.example.com').id!;
    // The app becomes slow for this account: the live push of the next change takes ~1.5 s.
    const slow = proxy.addRule({ match: { method: 'PATCH', pathIncludes: remoteId }, delayMs: 1500, times: 1 });
    expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Manager' }] })).status).toBe(200);
    const queue = jobs.pushQueue('app');
    await waitFor(async () => (await queue.getJobCounts('active')).active === 1, 10_000, 'live push active');

    const started = Date.now();
    const trace = await jobs.provisionNow('app', 'User', id, 'force');
    expect(slow.hits).toBe(1);
    expect(trace.jobId).toMatch(new RegExp(`^User-${id}-p[0-9a-f]+$`));
    expect(trace.outcome).toBe('updated');
    expect(trace.steps[0]).toMatchObject({ kind: 'scope', decision: 'upsert' });
    const http = trace.steps.flatMap(s => (s.kind === 'http' ? [s.call] : []));
    expect(http).toHaveLength(1);
    expect(http[0]).toMatchObject({ method: 'PATCH', path: `/Users/${remoteId}` });
    expect([200, 204]).toContain(http[0].status); // RFC 7644 §3.5.2: 204 when the app returns no body
    expect(http[0].durationMs).toBeGreaterThanOrEqual(0);

    // Never two requests for this account in flight at once, and ours came after the slow one finished.
    expect(proxy.maxConcurrentByResource().get(`/Users/${remoteId}`)).toBe(1);
    const patches = proxy.requests.filter(r => r.method === 'PATCH' && r.path.includes(remoteId));
    expect(patches).toHaveLength(2);
    expect(patches[1].startedAt).toBeGreaterThanOrEqual(patches[0].endedAt);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(userAt('paula@corp.example.com').title).toBe('Manager');
    expect(await queue.getJobCounts('active', 'waiting', 'prioritized')).toEqual({ active: 0, waiting: 0, prioritized: 0 });
    expect(pushQueueName('app')).toBe('push.app');
  });

  it('provision on demand should replace a waiting push of the resource and run first', async () => {
    const id = (await h.scim('POST', '/Users', userBody('walt'))).body.id as string;
    await h.drain();
    const queue = jobs.pushQueue('app');
    await queue.pause();
    const waitingId = await jobs.enqueuePush({ targetId: 'app', resourceType: 'User', resourceId: id, version: 0, mode: 'readBack', correlationId: 'sweep' }, { kind: 'sweep', runId: 'x1' }, 10);
    expect(await queue.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
    const pending = jobs.provisionNow('app', 'User', id, 'live', { timeoutMs: 15_000 });
    await waitFor(async () => !(await queue.getJob(waitingId!)), 5000, 'waiting push replaced');
    await queue.resume();
    const trace = await pending;
    expect(trace.mode).toBe('readBack'); // the replaced push's stronger mode is kept
    expect(trace.outcome).toBe('unchanged');
    expect(trace.steps.flatMap(s => (s.kind === 'http' ? [s.call.method] : []))).toEqual(['GET']);
    await h.drain();
  });
});
