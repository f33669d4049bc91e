import { startScimmyApp } from '../downstream/scimmy-app.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { DbService } from '../../src/db/db.service.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, TargetDoc } from '../utils/harness.js';

/**
 * Scoping end to end, real HTTP to the strict and the lenient downstream apps: scope in/out
 * transitions, skipOutOfScopeDeletions, group-based assignment (membership and rename), the group
 * push filter, and backfills after a config change (new target, changed mapping) via a restart.
 */
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const user = (name: string, department: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  userName: `${name}@example.com`, name: { givenName: name, familyName: 'Test' }, active: true,
  emails: [{ value: `${name}@example.com`, type: 'work', primary: true }], [ENT]: { department },
});
const byName = (app: DownstreamApp, name: string) => app.users().find(u => u.userName === `${name}@example.com`);
/** Real HTTP on a loaded 2-core box: allow more than the default 60 s per case. */
const SLOW = 120_000;
const names = (app: DownstreamApp) => app.users().map(u => String(u.userName).replace('@example.com', '')).sort();

describe.each(storeKinds())('scoping (%s)', db => {
  let strict: DownstreamApp;
  let lenient: DownstreamApp;
  let h: Harness;
  const linkStatus = async (target: string, id: string) => {
    const dbs = h.get(DbService);
    const [row] = await dbs.manager.query(`SELECT status FROM target_link WHERE target_id = ${dbs.isPostgres ? '$1' : '?'} AND resource_id = ${dbs.isPostgres ? '$2' : '?'}`, [target, id]);
    return row?.status as string | undefined;
  };
  const pushLog = async (target: string, id: string) => {
    const dbs = h.get(DbService);
    return (await dbs.manager.query(
      `SELECT action, error FROM push_log WHERE target_id = ${dbs.isPostgres ? '$1' : '?'} AND resource_id = ${dbs.isPostgres ? '$2' : '?'} ORDER BY id`, [target, id],
    )) as Array<{ action: string; error: string | null }>;
  };
  const setDept = (id: string, department: string) => h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: `${ENT}:department`, value: department }] });

  beforeEach(async () => {
    strict = await startStrictApp({ token: TARGET_TOKEN });
    lenient = await startScimmyApp({ token: TARGET_TOKEN });
  });

  afterEach(async () => {
    await h?.close();
    await strict?.close();
    await lenient?.close();
  });

  it('should provision users entering the scope, deprovision those leaving it, and leave them with skipOutOfScopeDeletions', async () => {
    const scope = `${ENT}:department eq "R&D"`;
    h = await Harness.start({
      db,
      targets: [
        { id: 'scoped', baseUrl: strict.url, resourceTypes: ['User'], scope, deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' } },
        { id: 'keeper', baseUrl: lenient.url, resourceTypes: ['User'], scope, deprovision: 'delete', skipOutOfScopeDeletions: true },
      ],
    });
    const ids: Record<string, string> = {};
    for (const [n, d] of [['ada', 'R&D'], ['bob', 'Sales'], ['cy', 'R&D']] as const) ids[n] = (await h.scim('POST', '/Users', user(n, d))).body.id;
    await h.drain();
    expect(names(strict)).toEqual(['ada', 'cy']);
    expect(names(lenient)).toEqual(['ada', 'cy']);
    // Never provisioned and out of scope: no link, no request to either app.
    expect(await linkStatus('scoped', ids.bob)).toBeUndefined();
    expect(strict.requests.filter(r => r.path.includes('bob'))).toHaveLength(0);
    // A push of it anyway (a replay, provision on demand): a recorded skip, still no link and no HTTP.
    const before = strict.requests.length;
    await h.get(JobQueueService).enqueuePush({ targetId: 'scoped', resourceType: 'User', resourceId: ids.bob, version: 1, mode: 'live', correlationId: 'replay-bob' }, { kind: 'replay', n: 1 });
    await h.drain();
    expect(await pushLog('scoped', ids.bob)).toEqual([{ action: 'skip', error: 'out of scope' }]);
    expect(await linkStatus('scoped', ids.bob)).toBeUndefined();
    expect(strict.requests.length).toBe(before);

    // ada leaves the scope; bob enters it.
    expect((await setDept(ids.ada, 'Sales')).status).toBe(200);
    expect((await setDept(ids.bob, 'R&D')).status).toBe(200);
    await h.drain();
    expect(byName(strict, 'ada')!.active).toBe(false);
    expect(await linkStatus('scoped', ids.ada)).toBe('out_of_scope');
    expect(byName(strict, 'bob')!.active).toBe(true);
    // skipOutOfScopeDeletions: ada stays as she was at the lenient app (deprovision would delete), a skip is recorded.
    expect(byName(lenient, 'ada')!.active).toBe(true);
    expect(await linkStatus('keeper', ids.ada)).toBe('out_of_scope');
    expect((await pushLog('keeper', ids.ada)).at(-1)).toEqual({ action: 'skip', error: 'out of scope: skipOutOfScopeDeletions' });
    expect(names(lenient)).toEqual(['ada', 'bob', 'cy']);

    // ada comes back: re-enabled, same remote account.
    const remoteId = byName(strict, 'ada')!.id;
    expect((await setDept(ids.ada, 'R&D')).status).toBe(200);
    await h.drain();
    expect(byName(strict, 'ada')).toMatchObject({ id: remoteId, active: true });
    expect(await linkStatus('scoped', ids.ada)).toBe('synced');
    expect(strict.users()).toHaveLength(3);
  }, SLOW);

  it('should assign users through group membership and re-evaluate members when the group is renamed', async () => {
    h = await Harness.start({
      db,
      targets: [{ id: 'slack', baseUrl: strict.url, resourceTypes: ['User'], scope: 'groups.display eq "slack-users"', deprovision: 'delete' }],
    });
    const ids: Record<string, string> = {};
    for (const n of ['ann', 'ben', 'cat']) ids[n] = (await h.scim('POST', '/Users', user(n, 'Ops'))).body.id;
    const g = await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'slack-users', members: [{ value: ids.ann }] });
    expect(g.status).toBe(201);
    await h.drain();
    expect(names(strict)).toEqual(['ann']);

    // Added to the assigning group → provisioned; removed → deprovisioned (delete).
    expect((await h.scim('PATCH', `/Groups/${g.body.id}`, { schemas: [PATCH], Operations: [
      { op: 'add', path: 'members', value: [{ value: ids.ben }, { value: ids.cat }] }, { op: 'remove', path: `members[value eq "${ids.ann}"]` },
    ] })).status).toBe(204);
    await h.drain();
    expect(names(strict)).toEqual(['ben', 'cat']);
    expect(await linkStatus('slack', ids.ann)).toBe('out_of_scope');

    // Renamed: nobody matches any more; renamed back: everyone returns.
    const rename = (displayName: string) => h.scim('PATCH', `/Groups/${g.body.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: displayName }] });
    expect((await rename('slack-old')).status).toBeLessThan(300);
    await h.drain();
    expect(names(strict)).toEqual([]);
    expect((await rename('slack-users')).status).toBeLessThan(300);
    await h.drain();
    expect(names(strict)).toEqual(['ben', 'cat']);

    // The assigning group deleted: its members leave the scope.
    expect((await h.scim('DELETE', `/Groups/${g.body.id}`)).status).toBe(204);
    await h.drain();
    expect(names(strict)).toEqual([]);
    expect(await linkStatus('slack', ids.cat)).toBe('out_of_scope');
  }, SLOW);

  it('should push only the groups the group filter selects and delete a group leaving the selection', async () => {
    h = await Harness.start({
      db,
      targets: [
        { id: 'eng', baseUrl: strict.url, groups: { filter: 'displayName sw "eng-"' }, deprovision: { onDeactivate: 'disable', onOutOfScope: 'delete', onDelete: 'delete' } },
        { id: 'nogroups', baseUrl: lenient.url, groups: 'none' },
      ],
    });
    const u = (await h.scim('POST', '/Users', user('dee', 'R&D'))).body.id;
    const a = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'eng-core', members: [{ value: u }] })).body.id;
    const b = (await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'ops-team', members: [{ value: u }] })).body.id;
    await h.drain();
    expect(strict.groups().map(x => x.displayName)).toEqual(['eng-core']);
    expect(lenient.groups()).toEqual([]);
    expect(lenient.users()).toHaveLength(1);
    expect(strict.requests.filter(r => r.path.startsWith('/scim/v2/Groups') && r.method === 'POST')).toHaveLength(1);
    expect(await linkStatus('eng', b)).toBeUndefined();

    // eng-core leaves the selection (onOutOfScope: delete); ops-team enters it.
    const rename = (id: string, displayName: string) => h.scim('PATCH', `/Groups/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: displayName }] });
    await rename(a, 'legacy-core');
    await rename(b, 'eng-ops');
    await h.drain();
    expect(strict.groups().map(x => x.displayName)).toEqual(['eng-ops']);
    expect(await linkStatus('eng', a)).toBe('out_of_scope');
    expect(lenient.groups()).toEqual([]);
  }, SLOW);

  it('should backfill a target added to a running gateway and converge users after a mapping change', async () => {
    const first: TargetDoc = { id: 'first', baseUrl: lenient.url, resourceTypes: ['User'] };
    h = await Harness.start({ db, targets: [first] });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await h.scim('POST', '/Users', user(`u${i}`, i % 3 ? 'R&D' : 'Sales'))).body.id);
    await h.drain();
    expect(lenient.users()).toHaveLength(12);
    expect(strict.users()).toHaveLength(0);

    // A new, scoped target: existing users in scope appear there without any change to them.
    const added: TargetDoc = { id: 'added', baseUrl: strict.url, resourceTypes: ['User'], scope: `${ENT}:department eq "R&D"`, mappings: [{ target: 'title', source: `${ENT}:department` }] };
    await h.restart([first, added]);
    await h.sweep();
    await h.drain();
    expect(strict.users()).toHaveLength(8);
    expect(strict.users().every(x => x.title === 'R&D')).toBe(true);
    const dbs = h.get(DbService);
    const [state] = await dbs.manager.query(`SELECT config_hash, backfilled_at FROM target_state WHERE target_id = 'added'`);
    expect(state.config_hash).toMatch(/^[0-9a-f]{64}$/);
    // Same config again: no backfill (only the regular sweep, which finds nothing to do).
    const before = strict.requests.length;
    expect(await h.sweep()).toBe(0);
    await h.drain();
    expect(strict.requests.length).toBe(before);

    // A changed mapping (title from a constant) and a wider scope: existing users converge.
    const changed: TargetDoc = { ...added, scope: undefined, mappings: [{ target: 'title', value: 'Staff' }] };
    await h.restart([first, changed]);
    await h.sweep();
    await h.drain();
    expect(strict.users()).toHaveLength(12);
    expect(strict.users().map(x => x.title)).toEqual(Array(12).fill('Staff'));
    const [after] = await h.get(DbService).manager.query(`SELECT config_hash FROM target_state WHERE target_id = 'added'`);
    expect(after.config_hash).not.toBe(state.config_hash);
  }, SLOW);
});
