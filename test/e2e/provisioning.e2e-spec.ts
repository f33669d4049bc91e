import { request } from 'undici';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const userBody = (i: number, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  userName: `user${i}@example.com`,
  name: { givenName: `Given${i}`, familyName: `Family${i}` },
  displayName: `Given${i} Family${i}`,
  emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
  active: true,
  [ENT]: { department: i % 2 ? 'R&D' : 'Sales', employeeNumber: String(1000 + i) },
  ...extra,
});

describe.each(storeKinds())('provisioning end to end (%s)', db => {
  let scimmy: DownstreamApp;
  let strict: DownstreamApp;
  let h: Harness;

  beforeAll(async () => {
    scimmy = await startScimmyApp({ token: TARGET_TOKEN });
    strict = await startStrictApp({ token: TARGET_TOKEN });
    h = await Harness.start({
      db,
      targets: [
        { id: 'lenient', baseUrl: scimmy.url, deprovision: 'disable' },
        { id: 'strict', baseUrl: strict.url, deprovision: 'delete', mappings: [{ target: 'title', source: `${ENT}:department` }] },
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    await scimmy?.close();
    await strict?.close();
  });

  it('should provision users and groups, then follow updates, membership, deactivation and deletion', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.scim('POST', '/Users', userBody(i));
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const g = await h.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'eng', members: [{ value: ids[0] }, { value: ids[1] }] });
    expect(g.status).toBe(201);
    await h.drain();

    expect(scimmy.users().map(u => u.userName).sort()).toEqual(ids.map((_, i) => `user${i}@example.com`).sort());
    expect(strict.users()).toHaveLength(5);
    const strictUser1 = strict.users().find(u => u.userName === 'user1@example.com')!;
    expect(strictUser1.title).toBe('R&D');
    expect(strictUser1.externalId).toBe(ids[1]);
    const remoteMembers = (app: DownstreamApp) => {
      const grp = app.groups().find(x => x.displayName === 'eng')!;
      const byId = new Map(app.users().map(u => [u.id, u.userName]));
      return ((grp.members ?? []) as Array<{ value: string }>).map(m => byId.get(m.value)).sort();
    };
    expect(remoteMembers(scimmy)).toEqual(['user0@example.com', 'user1@example.com']);
    expect(remoteMembers(strict)).toEqual(['user0@example.com', 'user1@example.com']);

    // Update, membership change (Okta shape), deactivation (Entra shape), deletion.
    expect((await h.scim('PATCH', `/Users/${ids[2]}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'name.familyName', value: 'Renamed' }] })).status).toBe(200);
    expect((await h.scim('PATCH', `/Groups/${g.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [
      { op: 'remove', path: `members[value eq "${ids[0]}"]` }, { op: 'add', path: 'members', value: [{ value: ids[3] }] },
    ] })).status).toBe(204);
    expect((await h.scim('PATCH', `/Users/${ids[4]}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).status).toBe(200);
    expect((await h.scim('DELETE', `/Users/${ids[1]}`)).status).toBe(204);
    await h.drain();

    for (const app of [scimmy, strict]) {
      expect((app.users().find(u => u.userName === 'user2@example.com')!.name as { familyName: string }).familyName).toBe('Renamed');
      expect(remoteMembers(app)).toEqual(['user3@example.com']);
    }
    // lenient: deprovision disable → user4 and user1 disabled; strict: delete → both gone.
    expect(scimmy.users().find(u => u.userName === 'user4@example.com')!.active).toBe(false);
    expect(scimmy.users().find(u => u.userName === 'user1@example.com')!.active).toBe(false);
    expect(strict.users().map(u => u.userName).sort()).toEqual(['user0@example.com', 'user2@example.com', 'user3@example.com']);
    // The deleted user's tombstone is purged once both targets deprovisioned it.
    await waitFor(async () => (await h.scim('GET', `/Users/${ids[1]}`)).status === 404, 5000, 'tombstone hidden');

    // Prometheus metrics count what happened: 5 users + 1 group created on the strict target.
    const metrics = await (await request(`${h.sb.url}/metrics`)).body.text();
    expect(metrics).toMatch(/switchboard_pushes_total\{target="strict",outcome="created"\} 6\n/);
    expect(metrics).toMatch(/switchboard_queue_jobs\{queue="push\.strict",state="waiting"\} 0\n/);
  });
});
