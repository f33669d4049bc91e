import { DownstreamApp } from '../downstream/downstream-app.js';
import { FaultProxy, startFaultProxy } from '../downstream/fault-proxy.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { Harness, TARGET_TOKEN } from '../utils/harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const userBody = (name: string) => ({
  schemas: [USER], userName: `${name}@corp.example.com`, name: { givenName: name, familyName: 'Tester' },
  emails: [{ value: `${name}@example.com`, type: 'work', primary: true }], active: true,
});

describe('push engine: chunked membership of a 2,000-member group (strict app)', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;
  const memberPatches: Array<{ add: number; remove: number }> = [];

  beforeAll(async () => {
    app = await startStrictApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({
      upstream: app.url,
      onRequest: (method, path, body) => {
        if (method !== 'PATCH' || !path.includes('/Groups/')) return;
        const ops = (JSON.parse(body) as { Operations: Array<{ op: string; path: string; value?: unknown[] }> }).Operations;
        memberPatches.push({
          add: ops.filter(o => o.op === 'add').reduce((n, o) => n + (o.value?.length ?? 0), 0),
          remove: ops.filter(o => o.op === 'remove').length,
        });
      },
    });
    h = await Harness.start({ targets: [{ id: 'chunky', baseUrl: proxy.url, concurrency: 8, profile: { membershipChunkSize: 300 } }] });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should send 2,000 members as deltas of at most membershipChunkSize, and removals as one delta', async () => {
    const ids: string[] = [];
    const tc = Date.now();
    for (let i = 0; i < 2000; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, k) => h.scim('POST', '/Users', userBody(`m${i + k}`))));
      ids.push(...batch.map(r => r.body.id as string));
    }
    process.stdout.write(`2,000 users created in ${Date.now() - tc} ms\n`);
    const t0 = Date.now();
    await h.drain(400_000);
    process.stdout.write(`2,000 users pushed in ${Date.now() - t0} ms\n`);
    expect(app.users()).toHaveLength(2000);
    const g = await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'all-hands', members: ids.map(value => ({ value })) });
    expect(g.status).toBe(201);
    await h.drain(120_000);

    expect(memberPatches.map(p => p.add)).toEqual([300, 300, 300, 300, 300, 300, 200]);
    const grp = app.groups().find(x => x.displayName === 'all-hands')!;
    const userIdByRemote = new Map(app.users().map(u => [u.id, u.userName]));
    const remoteMembers = ((grp.members ?? []) as Array<{ value: string }>).map(m => userIdByRemote.get(m.value));
    expect(new Set(remoteMembers).size).toBe(2000);
    expect(remoteMembers.every(Boolean)).toBe(true);

    // Removing 10 members: one delta of 10 removes, nothing re-sent.
    memberPatches.length = 0;
    expect((await h.scim('PATCH', `/Groups/${g.body.id}`, { schemas: [PATCH_OP], Operations: ids.slice(0, 10).map(id => ({ op: 'remove', path: `members[value eq "${id}"]` })) })).status).toBe(204);
    await h.drain();
    expect(memberPatches).toEqual([{ add: 0, remove: 10 }]);
    expect((app.groups().find(x => x.displayName === 'all-hands')!.members as unknown[]).length).toBe(1990);
  }, 900_000); // ~40 s on an idle 2-core box; minutes when it is shared
});
