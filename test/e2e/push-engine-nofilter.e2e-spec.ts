import { request } from 'undici';
import { DownstreamApp, ScimObject } from '../downstream/downstream-app.js';
import { FaultProxy, GateHandle, startFaultProxy } from '../downstream/fault-proxy.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { deadLetterJobId, JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { QueueName } from '../../src/pipeline/queue-names.js';
import { TargetLinkService } from '../../src/targets/target-link.service.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const userBody = (name: string, email = `${name}@example.com`) => ({
  schemas: [USER],
  userName: `${name}@corp.example.com`,
  name: { givenName: name, familyName: 'Tester' },
  emails: [{ value: email, type: 'work', primary: true }],
  active: true,
});

/** Creates an account directly at the downstream app (out of band, as an app admin would). */
async function remoteCreate(app: { url: string }, type: 'Users' | 'Groups', body: Record<string, unknown>): Promise<ScimObject> {
  const res = await request(`${app.url}/${type}`, {
    method: 'POST', headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body),
  });
  const json = (await res.body.json()) as ScimObject;
  if (res.statusCode !== 201) throw new Error(`remote create: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

describe('push engine: no-filter target (strict app refusing filter, matching by listing)', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;

  beforeAll(async () => {
    app = await startStrictApp({ token: TARGET_TOKEN, noFilter: true });
    proxy = await startFaultProxy({ upstream: app.url });
    // 250 accounts already at the app: a scan of 100 per page has to read 3 pages.
    for (let i = 0; i < 245; i++) await remoteCreate(app, 'Users', { schemas: [USER], userName: `filler-${i}`, emails: [{ value: `filler-${i}@example.com`, primary: true }] });
    h = await Harness.start({
      targets: [{ id: 'nofilter', baseUrl: proxy.url, matching: ['userName', 'emails[primary eq true].value'], profile: { preset: 'no-filter' } }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should say filter.supported false and answer a filtered list with 400 invalidFilter', async () => {
    const spc = await request(`${app.url}/ServiceProviderConfig`, { headers: { authorization: `Bearer ${TARGET_TOKEN}` } });
    expect(((await spc.body.json()) as { filter: { supported: boolean } }).filter.supported).toBe(false);
    const res = await request(`${app.url}/Users?filter=${encodeURIComponent('userName eq "x"')}`, { headers: { authorization: `Bearer ${TARGET_TOKEN}` } });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { scimType: string }).scimType).toBe('invalidFilter');
  });

  it('should link by scan (case-insensitively, across pages), dead-letter an ambiguous pair, re-match a 409 by scan, and never send filter=', async () => {
    const seenBefore = app.requests.length; // the probe above was ours
    // The pre-existing accounts sit on the last page (the 246th–250th of 250).
    const zoeRemote = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'ZOE@Corp.Example.com' });
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'dup-1', emails: [{ value: 'dup@example.com', primary: true }] });
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'dup-2', emails: [{ value: 'DUP@example.com', primary: true }] });
    const yvesRemote = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'y.v', emails: [{ value: 'yves@example.com', primary: true }] });
    const groupRemote = await remoteCreate(app, 'Groups', { schemas: [GROUP], displayName: 'Eng-Team' });
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'filler-last' });
    expect(app.users()).toHaveLength(250);

    const zoe = (await h.scim('POST', '/Users', userBody('zoe'))).body.id as string;
    const dup = (await h.scim('POST', '/Users', userBody('dup'))).body.id as string;
    const yves = (await h.scim('POST', '/Users', userBody('yves'))).body.id as string;
    const newbie = (await h.scim('POST', '/Users', userBody('newbie'))).body.id as string;
    const group = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'eng-team', members: [{ value: zoe }] })).body.id as string;
    await h.drain();

    const links = h.get(TargetLinkService);
    // userName matched case-insensitively (caseExact false, RFC 7643 §4.1.1); the account is updated, not duplicated.
    expect((await links.get('nofilter', zoe))).toMatchObject({ status: 'synced', remoteId: zoeRemote.id });
    expect(app.users().filter(u => String(u.userName).toLowerCase() === 'zoe@corp.example.com')).toHaveLength(1);
    expect(app.users().find(u => u.id === zoeRemote.id)!.userName).toBe('zoe@corp.example.com');
    // Second matching attribute (valuePath) evaluated locally.
    expect((await links.get('nofilter', yves))!.remoteId).toBe(yvesRemote.id);
    // No account anywhere → created.
    const newbieLink = (await links.get('nofilter', newbie))!;
    expect(newbieLink.status).toBe('synced');
    expect(app.users().find(u => u.id === newbieLink.remoteId)!.userName).toBe('newbie@corp.example.com');
    // Group matched by displayName the same way; its member is the linked account.
    expect((await links.get('nofilter', group))!.remoteId).toBe(groupRemote.id);
    expect(app.groups()).toHaveLength(1);
    await waitFor(() => ((app.groups()[0].members ?? []) as Array<{ value: string }>).some(m => m.value === zoeRemote.id), 10_000, 'member pushed');

    // Two accounts share the primary email (case differs): dead letter naming attribute and count, never the value.
    const dupLink = (await links.get('nofilter', dup))!;
    expect(dupLink).toMatchObject({ status: 'failed', remoteId: null });
    const dead = await h.get(JobQueueService).queue(QueueName.DeadLetter).getJob(deadLetterJobId('nofilter', 'User', dup));
    expect(dead?.data.summary).toContain('ambiguous match: matching attribute "emails[primary eq true].value" found 2 User accounts');
    expect(dead?.data.summary).not.toContain('dup@');
    expect(app.users()).toHaveLength(251); // 250 + newbie; nothing for dup

    // Scans crossed pages: listing requests with startIndex 1, 101 and 201.
    const lists = proxy.requests.filter(r => r.method === 'GET' && r.path.includes('/Users?startIndex='));
    for (const s of [1, 101, 201]) expect(lists.some(r => r.path.includes(`startIndex=${s}&count=100`))).toBe(true);

    // A 409 on create re-matches by scan: the account appears at the app while our POST is held.
    const gate = proxy.addRule({ match: { method: 'POST', bodyIncludes: 'late@corp' }, gate: true, times: 1 }) as GateHandle;
    const late = (await h.scim('POST', '/Users', userBody('late'))).body.id as string;
    await waitFor(() => gate.waiting === 1, 10_000, 'POST held');
    const lateRemote = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'late@corp.example.com' });
    gate.release();
    await h.drain();
    expect(proxy.requests.some(r => r.method === 'POST' && r.status === 409)).toBe(true);
    expect((await links.get('nofilter', late))).toMatchObject({ status: 'synced', remoteId: lateRemote.id });
    expect(app.users().filter(u => u.userName === 'late@corp.example.com')).toHaveLength(1);

    // Not one request carried a filter, at the proxy or at the app.
    expect(proxy.requests.filter(r => r.path.includes('filter='))).toEqual([]);
    expect(app.requests.slice(seenBefore).filter(r => r.path.includes('filter='))).toEqual([]);
  });
});

describe('push engine: no-filter scan limit', () => {
  let app: DownstreamApp;
  let h: Harness;

  beforeAll(async () => {
    app = await startStrictApp({ token: TARGET_TOKEN, noFilter: true });
    for (let i = 0; i < 30; i++) await remoteCreate(app, 'Users', { schemas: [USER], userName: `filler-${i}` });
    h = await Harness.start({ targets: [{ id: 'capped', baseUrl: app.url, resourceTypes: ['User'], profile: { filter: false, matchScanLimit: 25 } }] });
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
  });

  it('should dead-letter instead of guessing when the listing is above matchScanLimit', async () => {
    const ann = (await h.scim('POST', '/Users', userBody('ann'))).body.id as string;
    await h.drain();
    const link = (await h.get(TargetLinkService).get('capped', ann))!;
    expect(link).toMatchObject({ status: 'failed', remoteId: null });
    const dead = await h.get(JobQueueService).queue(QueueName.DeadLetter).getJob(deadLetterJobId('capped', 'User', ann));
    expect(dead?.data.summary).toContain('the target lists 30 User accounts, above profile.matchScanLimit 25');
    expect(app.users()).toHaveLength(30);
    expect(app.requests.filter(r => r.path.includes('filter='))).toEqual([]);
  });
});
