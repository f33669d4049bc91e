import { buildAppConfig, TargetConfig } from '../config/app-config.js';
import { loadEnv } from '../config/env.js';
import type { Json } from '../common/json.util.js';
import type { StoredResource } from '../identity/resource.types.js';
import { hashMapped } from './diff.js';
import { mapResource } from './map-resource.js';
import { planPush, PreviewAccumulator, PreviewDecision, PreviewLink, PreviewSubject } from './preview.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function target(extra: Record<string, unknown> = {}): TargetConfig {
  const config = buildAppConfig({
    targets: [{
      id: 'app', baseUrl: 'http://127.0.0.1:1/scim/v2', auth: { type: 'none' }, scope: `${ENT}:department eq "R&D"`,
      mappings: [{ target: 'title', source: `${ENT}:department` }, { target: 'userType', value: 'Employee', applyOn: 'create' }],
      ...extra,
    }],
  }, loadEnv({}));
  return config.targets[0];
}

function user(over: Partial<StoredResource> & { dept?: string; family?: string } = {}): StoredResource {
  const { dept = 'R&D', family = 'Lovelace', ...rest } = over;
  return {
    id: 'u1', resourceType: 'User', externalId: null, version: 1, active: true, created: '', lastModified: '', deletedAt: null,
    doc: { userName: 'ada@example.com', name: { givenName: 'Ada', familyName: family }, [ENT]: { department: dept } },
    ...rest,
  };
}

/** The link a real push of `r` to `t` would have left (pushed state = the `always` payload). */
async function syncedLink(t: TargetConfig, r: StoredResource, active = true): Promise<PreviewLink> {
  const { payload } = await mapResource({ id: r.id, resourceType: r.resourceType, doc: r.doc as Json }, t);
  payload.active = active;
  return { status: 'synced', remoteId: 'remote-1', pushedHash: hashMapped(payload), pushedState: payload };
}

describe('planPush', () => {
  const t = target();

  it.each<[string, () => Promise<PreviewSubject>, Partial<PreviewDecision>]>([
    ['create when in scope and never linked', async () => ({ resource: user() }), { outcome: 'create' }],
    ['create disabled when inactive and deactivation means disable', async () => ({ resource: user({ active: false }) }), { outcome: 'create' }],
    ['skip when out of scope and never linked', async () => ({ resource: user({ dept: 'Sales' }) }), { outcome: 'skip', reason: 'outOfScope' }],
    ['skip a tombstone never linked', async () => ({ resource: user({ deletedAt: '2026-01-01T00:00:00.000Z' }) }), { outcome: 'skip', reason: 'deleted' }],
    ['report unchanged when the hash equals the pushed one', async () => ({ resource: user(), link: await syncedLink(t, user()) }), { outcome: 'unchanged' }],
    ['update naming the changed attribute', async () => ({ resource: user({ family: 'Byron' }), link: await syncedLink(t, user()) }), { outcome: 'update', attributes: ['name.familyName'] }],
    ['disable when a linked user leaves scope', async () => ({ resource: user({ dept: 'Sales' }), link: await syncedLink(t, user()) }), { outcome: 'deprovision', action: 'disable', reason: 'outOfScope' }],
    ['disable when a linked user is deactivated', async () => ({ resource: user({ active: false }), link: await syncedLink(t, user()) }), { outcome: 'deprovision', action: 'disable', reason: 'inactive' }],
    ['report unchanged when already disabled', async () => ({ resource: user({ active: false }), link: await syncedLink(t, user(), false) }), { outcome: 'unchanged', reason: 'inactive' }],
  ])('should %s', async (_name, subject, expected) => {
    await expect(planPush(await subject(), t)).resolves.toMatchObject(expected);
  });

  it('should send applyOn create attributes on create only, never as an update', async () => {
    const created = await planPush({ resource: user() }, t);
    expect(created.payload).toMatchObject({ userType: 'Employee', title: 'R&D', active: true, externalId: 'u1' });
    const linked = await syncedLink(t, user());
    expect(linked.pushedState!.userType).toBeUndefined();
    await expect(planPush({ resource: user(), link: linked }, t)).resolves.toMatchObject({ outcome: 'unchanged' });
  });

  it('should follow the deprovision policy per case', async () => {
    const del = target({ deprovision: { onDeactivate: 'delete', onOutOfScope: 'none', onDelete: 'delete' } });
    const link = await syncedLink(del, user());
    await expect(planPush({ resource: user({ active: false }) }, del)).resolves.toMatchObject({ outcome: 'skip', reason: 'inactive' });
    await expect(planPush({ resource: user({ active: false }), link }, del)).resolves.toMatchObject({ outcome: 'deprovision', action: 'delete', reason: 'inactive' });
    await expect(planPush({ resource: user({ dept: 'Sales' }), link }, del)).resolves.toMatchObject({ outcome: 'deprovision', action: 'none', reason: 'outOfScope' });
    await expect(planPush({ resource: user({ deletedAt: '2026-01-01T00:00:00.000Z' }), link }, del)).resolves.toMatchObject({ outcome: 'deprovision', action: 'delete', reason: 'deleted' });
    const keep = target({ skipOutOfScopeDeletions: true });
    await expect(planPush({ resource: user({ dept: 'Sales' }), link: await syncedLink(keep, user()) }, keep)).resolves.toMatchObject({ outcome: 'skip', reason: 'outOfScope' });
  });

  it('should select groups with the group filter', async () => {
    const g = target({ groups: { filter: 'displayName sw "eng-"' } });
    const group = (name: string): StoredResource => ({ ...user(), id: `g-${name}`, resourceType: 'Group', doc: { displayName: name } });
    await expect(planPush({ resource: group('eng-core') }, g)).resolves.toMatchObject({ outcome: 'create' });
    await expect(planPush({ resource: group('sales') }, g)).resolves.toMatchObject({ outcome: 'skip', reason: 'outOfScope' });
  });
});

describe(PreviewAccumulator.name, () => {
  it('should count, cap samples, keep values out unless asked, and warn about the deletion guard', () => {
    const acc = new PreviewAccumulator('app', { samples: 2, deletionGuard: { enabled: true, maxDeprovisions: 2, maxPercent: 10, minLinkedForPercent: 100 } });
    for (let i = 0; i < 3; i++) {
      acc.add({ resource: user({ id: `u${i}` }), link: { status: 'synced', remoteId: `r${i}`, pushedHash: null, pushedState: null } },
        { outcome: 'deprovision', action: 'disable', reason: 'outOfScope', operations: [{ op: 'replace', path: 'active', value: false }] });
    }
    acc.add({ resource: user({ id: 'u9' }) }, { outcome: 'update', attributes: ['title'], operations: [{ op: 'replace', path: 'title', value: 'x' }] });
    const r = acc.finish();
    expect(r.counts).toEqual({ create: 0, link: 0, update: 1, deprovision: 3, unchanged: 0, skip: 0 });
    expect(r.deprovision).toEqual({ byAction: { disable: 3 }, byReason: { outOfScope: 3 } });
    expect(r.updatedAttributes).toEqual({ title: 1 });
    expect(r.samples.deprovision.map(s => s.resourceId)).toEqual(['u0', 'u1']);
    expect(r.samples.update[0]).toEqual({ resourceType: 'User', resourceId: 'u9', name: 'ada@example.com', attributes: ['title'] });
    expect(r.newTarget).toBe(false);
    expect(r.notes.join(' ')).toContain('exceed the deletion guard (limit 2');
  });
});
