import { buildAppConfig } from '../config/app-config.js';
import { loadEnv } from '../config/env.js';
import { MetricsService } from '../ops/metrics.service.js';
import { OwnershipPolicy } from './ownership.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function policy(ownership?: Record<string, unknown>): OwnershipPolicy {
  // Owners must be known sources (client or HR source ids).
  const clients = ['okta', 'people'].map(id => ({ id, tokenEnv: 'T', scopes: ['scim:write'] }));
  const config = buildAppConfig({ ownership, clients }, loadEnv({}));
  return new OwnershipPolicy(config, new MetricsService());
}

describe('OwnershipPolicy', () => {
  const p = policy({ default: 'okta', people: ['title', 'name.givenName', 'active', `${ENT}:department`], okta: ['userName'] });
  const before = { userName: 'a', title: 'HR title', name: { givenName: 'Ann', familyName: 'Lee' }, active: true, [ENT]: { department: 'R&D', costCenter: '1' } };

  it('keeps attributes the writer does not own, including ones a PUT omits', () => {
    const after = { userName: 'b', title: 'IdP title', name: { familyName: 'Li' }, active: true };
    expect(p.apply('scim:okta', before, after)).toEqual({ userName: 'b', title: 'HR title', name: { givenName: 'Ann', familyName: 'Li' }, active: true, [ENT]: { department: 'R&D' } });
  });

  it('lets the owner write its attributes and ignores its writes to others', () => {
    const after = { ...before, userName: 'hr-name', title: 'New', [ENT]: { department: 'Ops', costCenter: '2' } };
    expect(p.apply('hr:people', before, after)).toEqual({ ...before, title: 'New', [ENT]: { department: 'Ops', costCenter: '1' } });
  });

  it('lets any source deactivate; only the owner of active reactivates', () => {
    expect(p.apply('scim:okta', before, { ...before, active: false }).active).toBe(false);
    const inactive = { ...before, active: false };
    expect(p.apply('scim:okta', inactive, { ...inactive, active: true }).active).toBe(false);
    expect(p.apply('hr:people', inactive, { ...inactive, active: true }).active).toBe(true);
  });

  it('passes every write without an ownership block, and admin writes always', () => {
    const after = { ...before, title: 'x' };
    expect(policy().apply('scim:okta', before, after)).toBe(after);
    expect(p.apply('admin:ops', before, after)).toBe(after);
  });
});
