import { request } from 'undici';
import { DownstreamApp, ScimObject } from '../downstream/downstream-app.js';
import { FaultProxy, startFaultProxy } from '../downstream/fault-proxy.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { deadLetterJobId, JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { QueueName } from '../../src/pipeline/queue-names.js';
import { TargetLinkService } from '../../src/targets/target-link.service.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const userBody = (name: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER, ENT],
  userName: `${name}@corp.example.com`,
  name: { givenName: name, familyName: 'Tester' },
  displayName: `${name} Tester`,
  emails: [{ value: `${name}@example.com`, type: 'work', primary: true }],
  active: true,
  [ENT]: { department: 'R&D' },
  ...extra,
});

/** Creates an account directly at a downstream app (as an app admin would, out of band). */
async function remoteCreate(app: { url: string }, type: 'Users' | 'Groups', body: Record<string, unknown>): Promise<ScimObject> {
  const res = await request(`${app.url}/${type}`, {
    method: 'POST', headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body),
  });
  const json = (await res.body.json()) as ScimObject;
  if (res.statusCode !== 201) throw new Error(`remote create: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

async function remoteReplace(app: { url: string }, id: string, body: Record<string, unknown>): Promise<void> {
  const res = await request(`${app.url}/Users/${id}`, {
    method: 'PUT', headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`remote replace: ${res.statusCode}`);
}

async function remoteDelete(app: { url: string }, id: string): Promise<void> {
  const res = await request(`${app.url}/Users/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TARGET_TOKEN}` } });
  await res.body.text();
}

describe.each(storeKinds())('push engine: matching (lenient app, %s)', db => {
  let app: DownstreamApp;
  let h: Harness;

  beforeAll(async () => {
    app = await startScimmyApp({ token: TARGET_TOKEN });
    h = await Harness.start({
      db,
      targets: [{ id: 'lenient', baseUrl: app.url, resourceTypes: ['User'], matching: ['userName', 'emails[primary eq true].value', 'externalId'] }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
  });

  it('should link by the first matching attribute that finds exactly one account, and dead-letter an ambiguous match', async () => {
    // alice: no account with her userName, exactly one with her primary email → linked by email.
    const aliceRemote = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'a.smith', emails: [{ value: 'alice@example.com', primary: true }] });
    // bob: one account by userName, another by email → userName wins (precedence).
    const bobByName = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'bob@corp.example.com' });
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'robert', emails: [{ value: 'bob@example.com', primary: true }] });
    // carol: two accounts with her primary email → ambiguous: dead letter, nothing created or linked.
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'carol1', emails: [{ value: 'carol@example.com', primary: true }] });
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'carol2', emails: [{ value: 'carol@example.com', primary: true }] });
    // dan: his email only as a secondary address of another account → not his primary: created.
    await remoteCreate(app, 'Users', { schemas: [USER], userName: 'shared', emails: [{ value: 'x@example.com', primary: true }, { value: 'dan@example.com' }] });

    const ids: Record<string, string> = {};
    for (const n of ['alice', 'bob', 'carol', 'dan']) ids[n] = (await h.scim('POST', '/Users', userBody(n))).body.id;
    await h.drain();

    const links = h.get(TargetLinkService);
    expect((await links.get('lenient', ids.alice))!.remoteId).toBe(aliceRemote.id);
    expect((await links.get('lenient', ids.bob))!.remoteId).toBe(bobByName.id);
    const danLink = (await links.get('lenient', ids.dan))!;
    expect(danLink.status).toBe('synced');
    expect(app.users().find(u => u.id === danLink.remoteId)!.userName).toBe('dan@corp.example.com');
    // Linked accounts got the mapped state: alice's account now carries her userName.
    expect(app.users().find(u => u.id === aliceRemote.id)!.userName).toBe('alice@corp.example.com');
    expect(app.users().filter(u => String(u.userName).startsWith('alice'))).toHaveLength(1);

    const carol = (await links.get('lenient', ids.carol))!;
    expect(carol.status).toBe('failed');
    expect(carol.remoteId).toBeNull();
    expect(carol.lastError).toContain('matching attribute "emails[primary eq true].value" found 2 User accounts');
    const dead = await h.get(JobQueueService).queue(QueueName.DeadLetter).getJob(deadLetterJobId('lenient', 'User', ids.carol));
    expect(dead?.data.summary).toContain('ambiguous match: matching attribute "emails[primary eq true].value" found 2');
    expect(dead?.data.summary).not.toContain('carol@');
    expect(app.users().filter(u => JSON.stringify(u.emails ?? []).includes('carol@example.com'))).toHaveLength(2);

    // One account found by email for two people: linked to the first, the second is refused (never shared).
    const shared = await remoteCreate(app, 'Users', { schemas: [USER], userName: 'front-desk', emails: [{ value: 'desk@example.com', primary: true }] });
    const withDesk = (n: string) => userBody(n, { emails: [{ value: 'desk@example.com', type: 'work', primary: true }] });
    const erin = (await h.scim('POST', '/Users', withDesk('erin'))).body.id as string;
    await h.drain();
    const frank = (await h.scim('POST', '/Users', withDesk('frank'))).body.id as string;
    await h.drain();
    expect((await links.get('lenient', erin))!.remoteId).toBe(shared.id);
    const frankLink = (await links.get('lenient', frank))!;
    expect(frankLink).toMatchObject({ status: 'failed', remoteId: null });
    expect(frankLink.lastError).toContain('already linked to another resource');

    // Provision on demand shows why: the trace of the failed attempt, with every match attempt.
    const trace = await h.get(JobQueueService).provisionNow('lenient', 'User', ids.carol);
    expect(trace.outcome).toBe('failed');
    expect(trace.error).toContain('ambiguous match');
    const match = trace.steps.find(s => s.kind === 'match');
    expect(match).toMatchObject({ kind: 'match', result: 'ambiguous', attempts: [
      { attribute: 'userName', filter: 'userName eq "carol@corp.example.com"', found: 0 },
      { attribute: 'emails[primary eq true].value', filter: 'emails.value eq "carol@example.com"', found: 2 },
    ] });
    expect(trace.steps.filter(s => s.kind === 'http').map(s => s.kind === 'http' && s.call.method)).toEqual(['GET', 'GET']);
  });
});

describe.each(storeKinds())('push engine: manager reference, out-of-order arrival (strict app, %s)', db => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;

  beforeAll(async () => {
    app = await startStrictApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
    h = await Harness.start({ db, targets: [{ id: 'strict', baseUrl: proxy.url, resourceTypes: ['User'] }] });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should omit a manager not yet at the target, then re-push the report with the manager\'s remote id', async () => {
    // The manager's create is slow at the target, so the report arrives there first.
    const slow = proxy.addRule({ match: { method: 'POST', bodyIncludes: 'boss@corp' }, delayMs: 1500, times: 1 });
    const boss = (await h.scim('POST', '/Users', userBody('boss'))).body.id as string;
    const report = (await h.scim('POST', '/Users', userBody('report', { [ENT]: { department: 'R&D', manager: { value: boss } } }))).body.id as string;
    await waitFor(async () => (await h.get(TargetLinkService).get('strict', report))?.status === 'synced', 10_000, 'report synced first');
    const early = app.users().find(u => u.userName === 'report@corp.example.com')!;
    expect((early[ENT] as Record<string, unknown> | undefined)?.manager).toBeUndefined();
    expect(app.users().find(u => u.userName === 'boss@corp.example.com')).toBeUndefined();

    await h.drain();
    expect(slow.hits).toBe(1);
    const remoteBoss = app.users().find(u => u.userName === 'boss@corp.example.com')!;
    const remoteReport = app.users().find(u => u.userName === 'report@corp.example.com')!;
    expect(remoteBoss.id).not.toBe(boss); // the strict app assigns its own ids: a canonical id would dangle
    expect((remoteReport[ENT] as Record<string, unknown>).manager).toMatchObject({ value: remoteBoss.id });
    expect((remoteReport[ENT] as Record<string, unknown>).department).toBe('R&D');
  });
});

describe('push engine: PUT-only target (strict app refusing PATCH)', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;

  beforeAll(async () => {
    app = await startStrictApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
    // The app answers PATCH with 405 Method Not Allowed, as PUT-only SCIM apps do.
    proxy.addRule({ match: { method: 'PATCH' }, status: 405 });
    h = await Harness.start({ targets: [{ id: 'putonly', baseUrl: proxy.url, profile: { preset: 'put-only' } }] });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should send updates and membership as full PUTs and never PATCH', async () => {
    const a = (await h.scim('POST', '/Users', userBody('ann'))).body.id as string;
    const b = (await h.scim('POST', '/Users', userBody('ben'))).body.id as string;
    const g = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'put-team', members: [{ value: a }] })).body.id as string;
    await h.drain();
    expect((await h.scim('PATCH', `/Users/${a}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] })).status).toBe(200);
    expect((await h.scim('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: b }] }] })).status).toBe(204);
    expect((await h.scim('PATCH', `/Users/${b}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    await h.drain();

    expect(proxy.requests.filter(r => r.method === 'PATCH')).toHaveLength(0);
    const ann = app.users().find(u => u.userName === 'ann@corp.example.com')!;
    const ben = app.users().find(u => u.userName === 'ben@corp.example.com')!;
    expect(ann.title).toBe('Lead');
    expect(ann.name).toEqual({ givenName: 'ann', familyName: 'Tester' }); // PUT kept every mapped attribute
    expect(ben.active).toBe(false);
    const grp = app.groups().find(x => x.displayName === 'put-team')!;
    expect(((grp.members ?? []) as Array<{ value: string }>).map(m => m.value).sort()).toEqual([ann.id, ben.id].sort());
    const puts = proxy.requests.filter(r => r.method === 'PUT');
    expect(puts.filter(r => r.path.includes(`/Users/${ann.id}`))).toHaveLength(1);
    expect(puts.filter(r => r.path.includes(`/Groups/${grp.id}`)).length).toBeGreaterThanOrEqual(2);
    expect(puts.every(r => r.status === 200)).toBe(true);
  });
});

describe('push engine: matching at the strict app (409 race, refused filter)', () => {
  let raceApp: DownstreamApp;
  let emailApp: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;

  beforeAll(async () => {
    raceApp = await startStrictApp({ token: TARGET_TOKEN });
    emailApp = await startStrictApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: raceApp.url });
    h = await Harness.start({
      targets: [
        { id: 'race', baseUrl: proxy.url, resourceTypes: ['User'] },
        // The strict app filters only userName, externalId, displayName and id.
        { id: 'emailmatch', baseUrl: emailApp.url, resourceTypes: ['User'], matching: ['emails[primary eq true].value'] },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await raceApp?.close();
    await emailApp?.close();
  });

  it('should link on a 409 by matching again, and dead-letter a matching filter the app refuses', async () => {
    // The account appears at the app between our lookup and our POST: the lookup answers "none".
    const existing = await remoteCreate(raceApp, 'Users', { schemas: [USER], userName: 'gina@corp.example.com', title: 'Old' });
    const emptyList = { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] };
    proxy.addRule({ match: { method: 'GET', pathIncludes: 'filter=' }, status: 200, body: emptyList, times: 1 });
    const id = (await h.scim('POST', '/Users', userBody('gina'))).body.id as string;
    await h.drain();

    const links = h.get(TargetLinkService);
    const race = (await links.get('race', id))!;
    expect(race).toMatchObject({ status: 'synced', remoteId: existing.id });
    expect(proxy.requests.filter(r => r.method === 'POST').map(r => r.status)).toEqual([409]);
    expect(raceApp.users()).toHaveLength(1);
    // Linked: the mapped state was sent to the existing account (its externalId is now the canonical id).
    expect(raceApp.users()[0]).toMatchObject({ id: existing.id, externalId: id, displayName: 'gina Tester' });

    const refused = (await links.get('emailmatch', id))!;
    expect(refused.status).toBe('failed');
    expect(refused.lastError).toContain('matching attribute "emails[primary eq true].value": the target refused the filter (HTTP 400, invalidFilter)');
    expect(emailApp.users()).toHaveLength(0); // never created blind
  });
});
