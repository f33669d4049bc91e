import type { TargetConfig } from '../config/app-config.js';
import { normaliseDeletionGuard } from '../config/deletion-guard.dto.js';
import type { StoredResource } from '../identity/resource.types.js';
import { ENTERPRISE_USER_SCHEMA as ENT } from '../scim/scim.constants.js';
import { targetScope, targetStateHash } from './target-rules.js';

function target(extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    id: 'app', baseUrl: 'https://app.example/scim/v2', auth: { type: 'none' }, resourceTypes: ['User', 'Group'],
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' }, passThrough: 'core', mappings: [],
    timeoutMs: 1000, concurrency: 1, retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 }, circuit: { failureThreshold: 1, probeIntervalMs: 1 },
    ...extra,
  } as TargetConfig;
}

const stored = (resourceType: 'User' | 'Group', doc: Record<string, unknown>): StoredResource => ({
  id: 'r-1', resourceType, externalId: null, version: 1, active: doc.active !== false, created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-01T00:00:00.000Z', deletedAt: null, doc,
});

describe('targetScope', () => {
  it('should evaluate the scope on the user with its groups standing in for the groups attribute', () => {
    const s = targetScope(target({ scope: 'groups.display eq "slack-users" and active eq true' }));
    const u = stored('User', { userName: 'a@example.com', active: true });
    expect(s.referencesGroups).toBe(true);
    expect(s.referencesGroupDisplay).toBe(true);
    expect(s.inScope(u, [{ value: 'g-1', display: 'Slack-Users' }])).toBe(true);
    expect(s.inScope(u, [{ value: 'g-2', display: 'other' }])).toBe(false);
    expect(s.inScope(u, [])).toBe(false);
  });

  it('should tell a scope that reads only groups.value from one that reads the display name', () => {
    expect(targetScope(target({ scope: 'groups.value eq "g-1"' }))).toMatchObject({ referencesGroups: true, referencesGroupDisplay: false });
    expect(targetScope(target({ scope: 'groups[display sw "eng-"]' }))).toMatchObject({ referencesGroups: true, referencesGroupDisplay: true });
    expect(targetScope(target({ scope: `${ENT}:department eq "R&D"` }))).toMatchObject({ referencesGroups: false, referencesGroupDisplay: false });
    expect(targetScope(target())).toMatchObject({ referencesGroups: false, referencesGroupDisplay: false });
  });

  it('should leave groups to the group selection', () => {
    const g = stored('Group', { displayName: 'eng-core' });
    expect(targetScope(target({ scope: `${ENT}:department eq "R&D"` })).inScope(g)).toBe(true);
    expect(targetScope(target({ groups: { filter: 'displayName sw "eng-"' } })).groupSelected(g)).toBe(true);
    expect(targetScope(target({ groups: { filter: 'displayName sw "ops-"' } })).groupSelected(g)).toBe(false);
    expect(targetScope(target({ groups: 'none' })).groupSelected(g)).toBe(false);
  });
});

describe('targetStateHash', () => {
  it('should change with the scope, the mappings and the deprovisioning policy, and only then', () => {
    const base = targetStateHash(target());
    expect(targetStateHash(target())).toBe(base);
    expect(targetStateHash(target({ timeoutMs: 5000, concurrency: 9 }))).toBe(base);
    expect(targetStateHash(target({ scope: 'active eq true' }))).not.toBe(base);
    expect(targetStateHash(target({ mappings: [{ target: 'title', value: 'Staff' }] }))).not.toBe(base);
    expect(targetStateHash(target({ skipOutOfScopeDeletions: true }))).not.toBe(base);
    expect(targetStateHash(target({ deprovision: { onDeactivate: 'delete', onOutOfScope: 'disable', onDelete: 'delete' } }))).not.toBe(base);
  });
});

describe('normaliseDeletionGuard', () => {
  it('should default to 50 deprovisions or 10 % of at least 100 linked accounts within an hour', () => {
    expect(normaliseDeletionGuard(undefined)).toEqual({ enabled: true, maxDeprovisions: 50, maxPercent: 10, minLinkedForPercent: 100, windowMinutes: 60 });
    expect(normaliseDeletionGuard({ maxDeprovisions: 5, enabled: false })).toMatchObject({ enabled: false, maxDeprovisions: 5, maxPercent: 10 });
  });
});
