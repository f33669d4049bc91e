import { request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { previewCommand } from '../../src/cli/preview.command.js';
import { DbService } from '../../src/db/db.service.js';
import type { PreviewReport } from '../../src/mapping/preview.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, TargetDoc } from '../utils/harness.js';

const RW = 'preview-rw-token';
const RO = 'preview-ro-token';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** The new target's credential lives in its own env var (a configured target's may not travel to another origin). */
const FRESH_TOKEN_ENV = 'SB_TEST_FRESH_TOKEN';

/**
 * Population: 12 users — department Sales for i % 3 == 0, else R&D; user 2 (R&D) and user 3 (Sales)
 * inactive; user 5 (R&D) deleted — and groups eng-core, eng-tools, sales.
 */
const dept = (i: number) => (i % 3 === 0 ? 'Sales' : 'R&D');

describe.each(storeKinds())('dry run / preview (real HTTP, real run to compare) (%s)', db => {
  let existingApp: DownstreamApp;
  let freshApp: DownstreamApp;
  let h: Harness;
  const users: string[] = [];
  let existing: TargetDoc;

  const admin = async (method: string, path: string, token: string, body?: unknown, contentType = 'application/json') => {
    const res = await request(`${h.sb.url}${path}`, {
      method: method as 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: text ? JSON.parse(text) : undefined };
  };

  /** Distinct resources per push-log action at a target, for rows written after `sinceId`. */
  const pushed = async (targetId: string, sinceId = 0): Promise<Record<string, number>> => {
    const pg = h.get(DbService).isPostgres;
    const rows: Array<{ action: string; n: number | string }> = await h.get(DbService).manager.query(
      `SELECT action, COUNT(DISTINCT resource_id) AS n FROM push_log WHERE target_id = ${pg ? '$1' : '?'} AND ok = ${pg ? 'true' : '1'} AND id > ${pg ? '$2' : '?'} GROUP BY action`, [targetId, sinceId],
    );
    return Object.fromEntries(rows.map(r => [r.action, Number(r.n)]));
  };
  const lastLogId = async (): Promise<number> => Number((await h.get(DbService).manager.query('SELECT COALESCE(MAX(id), 0) AS m FROM push_log'))[0].m);

  const fresh = (extra: Record<string, unknown> = {}) => ({
    baseUrl: freshApp.url,
    auth: { type: 'bearer', tokenEnv: FRESH_TOKEN_ENV },
    scope: `${ENT}:department eq "R&D"`,
    deprovision: 'disable',
    groups: { filter: 'displayName sw "eng-"' },
    mappings: [{ target: 'title', expression: `$uppercase(\`${ENT}\`.department)` }],
    ...extra,
  });

  beforeAll(async () => {
    process.env[FRESH_TOKEN_ENV] = TARGET_TOKEN;
    existingApp = await startScimmyApp({ token: TARGET_TOKEN });
    freshApp = await startStrictApp({ token: TARGET_TOKEN });
    existing = { id: 'existing', baseUrl: existingApp.url, deprovision: 'disable' };
    h = await Harness.start({
      db,
      clients: [
        { id: 'planner', token: RW, scopes: ['admin:read', 'admin:write'] },
        { id: 'viewer', token: RO, scopes: ['admin:read'] },
      ],
      targets: [existing],
    });
    for (let i = 0; i < 12; i++) {
      const r = await h.scim('POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT], userName: `user${i}@example.com`,
        name: { givenName: `Given${i}`, familyName: `Family${i}` }, emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
        active: i !== 2 && i !== 3, [ENT]: { department: dept(i) },
      });
      expect(r.status).toBe(201);
      users.push(r.body.id);
    }
    for (const [name, members] of [['eng-core', [1, 4]], ['eng-tools', [7]], ['sales', [0, 6]]] as const) {
      expect((await h.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name, members: members.map(i => ({ value: users[i] })) })).status).toBe(201);
    }
    expect((await h.scim('DELETE', `/Users/${users[5]}`)).status).toBe(204);
    await h.drain();
    // An account that already exists in the new app: a real run links it instead of creating.
    const pre = await request(`${freshApp.url}/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${TARGET_TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user4@example.com', active: true }),
    });
    expect(pre.statusCode).toBe(201);
  });

  afterAll(async () => {
    await h?.close();
    await existingApp?.close();
    await freshApp?.close();
    delete process.env[FRESH_TOKEN_ENV];
  });

  it('should refuse an invalid target block with every problem in one 400 problem', async () => {
    const r = await admin('POST', '/admin/targets/fresh/preview', RO, {
      baseUrl: 'ftp://nowhere', auth: { type: 'bearer' }, deprovision: 'explode', scope: 'department eq', colour: 'blue',
    });
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.body.type).toBe('urn:switchboard:problem:invalid-target');
    const pointers = r.body.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/baseUrl', '/auth/tokenEnv', '/deprovision', '/colour']));
    // Invalid YAML and an id that differs from the path are problems too.
    const yaml = await admin('POST', '/admin/targets/fresh/preview', RO, 'baseUrl: [unclosed', 'application/yaml');
    expect(yaml.status).toBe(400);
    expect(yaml.body.errors[0].detail).toMatch(/^not valid YAML/);
    const other = await admin('POST', '/admin/targets/fresh/preview', RO, { ...fresh(), id: 'other' });
    expect(other.body.errors[0]).toEqual({ pointer: '/id', detail: expect.stringContaining('differs from the target id') });
  });

  it('should refuse to send a configured target\'s credential to another origin, and matching to a read token', async () => {
    const r = await admin('POST', '/admin/targets/fresh/preview?match=true', RW, fresh({ auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' } }));
    expect(r.status).toBe(403);
    expect(r.body.type).toBe('urn:switchboard:problem:credentials-refused');
    expect((await admin('POST', '/admin/targets/fresh/preview?match=true', RO, fresh())).status).toBe(403);
  });

  it('should preview a new target over the whole population, offline and with matching, writing nothing', async () => {
    const before = { log: await lastLogId(), links: Number((await h.get(DbService).manager.query('SELECT COUNT(*) AS n FROM target_link'))[0].n) };
    const offline = await admin('POST', '/admin/targets/fresh/preview', RO, fresh());
    expect(offline.status).toBe(200);
    const r = offline.body as PreviewReport;
    expect(r).toMatchObject({ targetId: 'fresh', newTarget: true, matching: 'offline', scanned: 15 });
    // Users in scope: R&D live = 1, 2 (inactive: created disabled), 4, 7, 8, 10, 11; groups: eng-core, eng-tools.
    expect(r.counts).toEqual({ create: 9, link: 0, update: 0, deprovision: 0, unchanged: 0, skip: 6 });
    expect(r.byResourceType).toEqual({
      User: { create: 7, link: 0, update: 0, deprovision: 0, unchanged: 0, skip: 5 },
      Group: { create: 2, link: 0, update: 0, deprovision: 0, unchanged: 0, skip: 1 },
    });
    expect(r.skip).toEqual({ outOfScope: 5, deleted: 1 });
    expect(r.samples.create[0]).toEqual(expect.objectContaining({ resourceType: expect.any(String), resourceId: expect.any(String), attributes: expect.arrayContaining(['externalId']) }));
    expect(r.samples.create.every(s => s.values === undefined)).toBe(true);
    expect(r.notes.join(' ')).toContain('not knowable offline');

    // The same block as YAML text, with values, and with read-only matching at the target.
    const matched = await admin('POST', '/admin/targets/fresh/preview?match=true&values=true&samples=20', RW, toYaml(fresh()), 'application/yaml');
    expect(matched.status).toBe(200);
    const m = matched.body as PreviewReport;
    expect(m.matching).toBe('target');
    expect(m.counts).toEqual({ create: 8, link: 1, update: 0, deprovision: 0, unchanged: 0, skip: 6 });
    expect(m.samples.link).toEqual([expect.objectContaining({ name: 'user4@example.com', remoteId: expect.any(String) })]);
    const created = m.samples.create.find(s => s.name === 'user1@example.com')!;
    expect(created.values).toMatchObject({ userName: 'user1@example.com', title: 'R&D', active: true, externalId: users[1] });
    expect(m.samples.create.find(s => s.name === 'user2@example.com')!.values).toMatchObject({ active: false });
    // Nothing written, nothing enqueued; the app only answered GETs.
    expect(await lastLogId()).toBe(before.log);
    expect(Number((await h.get(DbService).manager.query('SELECT COUNT(*) AS n FROM target_link'))[0].n)).toBe(before.links);
    expect(freshApp.requests.filter(x => x.method !== 'GET').map(x => x.method)).toEqual(['POST']); // the test's own pre-created account
  });

  it('should print the same counts from the CLI against the configured database', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'sbpreview-')), 'target.yaml');
    writeFileSync(file, toYaml({ targets: [{ id: 'fresh', ...fresh() }] }));
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = h.db.url;
    let out = '';
    let err = '';
    try {
      expect(await previewCommand({ file, json: true }, s => { out += s; }, s => { err += s; })).toBe(0);
      expect(err).toBe('');
      expect((JSON.parse(out) as PreviewReport).counts).toEqual({ create: 9, link: 0, update: 0, deprovision: 0, unchanged: 0, skip: 6 });
      out = '';
      expect(await previewCommand({ file, targetId: 'fresh' }, s => { out += s; }, s => { err += s; })).toBe(0);
      expect(out).toMatch(/^Preview of target fresh \(new target; matching offline\): 15 resources/);
      expect(out).toMatch(/create\s+2\s+7\s+9\n/);
      expect(out).toMatch(/skip\s+1\s+5\s+6\n/);
      expect(await previewCommand({ file, targetId: 'nope' }, () => undefined, s => { err += s; })).toBe(1);
      expect(err).toContain('no target with id "nope"');
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL; else process.env.DATABASE_URL = saved;
    }
  });

  it('should predict what deploying the new target then does (push log and links)', async () => {
    const preview = (await admin('POST', '/admin/targets/fresh/preview?match=true', RW, fresh())).body as PreviewReport;
    const since = await lastLogId();
    await h.restart([existing, { id: 'fresh', ...fresh() }]);
    await h.sweep();
    await h.drain();
    const actions = await pushed('fresh', since);
    expect(actions.create ?? 0).toBe(preview.counts.create);
    expect(actions.link ?? 0).toBe(preview.counts.link);
    expect(actions.disable ?? 0).toBe(0);
    const links: Array<{ status: string; n: number | string }> = await h.get(DbService).manager.query(
      "SELECT status, COUNT(*) AS n FROM target_link WHERE target_id = 'fresh' AND remote_id IS NOT NULL GROUP BY status",
    );
    expect(Object.fromEntries(links.map(l => [l.status, Number(l.n)]))).toEqual({ synced: preview.counts.create + preview.counts.link });
    // 7 users in scope: 6 created, user4 linked to the account that was there.
    expect(freshApp.users()).toHaveLength(7);
    expect(freshApp.users().filter(u => u.active === false).map(u => u.userName)).toEqual(['user2@example.com']);
    expect(freshApp.groups().map(g => g.displayName).sort()).toEqual(['eng-core', 'eng-tools']);
  });

  it('should predict updates and deprovisions of a changed target, then match the real run', async () => {
    // Change: a title mapping and a scope that drops Sales at the existing target; meanwhile two users change.
    const changed: TargetDoc = { ...existing, scope: `${ENT}:department eq "R&D"`, mappings: [{ target: 'title', value: 'Engineer' }] };
    expect((await h.scim('PATCH', `/Users/${users[7]}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.familyName', value: 'Moved' }] })).status).toBe(200);
    expect((await h.scim('PATCH', `/Users/${users[8]}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    await h.drain();
    const { id: _id, ...block } = changed;
    const p = (await admin('POST', '/admin/targets/existing/preview', RO, block)).body as PreviewReport;
    expect(p.newTarget).toBe(false);
    // Live R&D users 1, 4, 7, 10, 11 gain title; 2 and 8 are inactive and already disabled (title only);
    // Sales 0, 6, 9 leave scope (disable); 3 is inactive Sales, already disabled; 5 is deleted and disabled.
    expect(p.counts.deprovision).toBe(3);
    expect(p.deprovision).toEqual({ byAction: { disable: 3 }, byReason: { outOfScope: 3 } });
    expect(p.updatedAttributes.title).toBe(p.counts.update);
    const since = await lastLogId();
    await h.restart([changed, { id: 'fresh', ...fresh() }]);
    await h.sweep();
    await h.drain();
    const actions = await pushed('existing', since);
    expect(actions.update ?? 0).toBe(p.counts.update);
    expect(actions.disable ?? 0).toBe(p.counts.deprovision);
    expect(actions.create ?? 0).toBe(p.counts.create);
    expect(existingApp.users().filter(u => ['user0@example.com', 'user6@example.com', 'user9@example.com'].includes(String(u.userName))).map(u => u.active)).toEqual([false, false, false]);
    // After the run, a preview of the same block finds nothing left to do.
    const after = (await admin('POST', '/admin/targets/existing/preview', RO, block)).body as PreviewReport;
    expect(after.counts).toMatchObject({ create: 0, update: 0, deprovision: 0 });
  });
});
