import type { TargetConfig } from '../../config/app-config.js';
import { resolveProfile } from '../../config/profile-config.dto.js';
import { PushTrace } from '../push-trace.js';
import { ScimObject } from '../scim-client.js';
import { remoteMatcher } from './match-scan.js';
import { findRemoteMatch, MatchError, parseMatchPath, readMatchValue } from './matching.js';
import { TracedClient } from './traced-client.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const accounts: ScimObject[] = Array.from({ length: 230 }, (_, i) => ({ schemas: [USER], id: `r${i}`, userName: `u${i}`, emails: [{ value: `u${i}@x.example`, primary: true }] }));
accounts[150] = { schemas: [USER], id: 'r150', userName: 'Ann@Corp.Example.com', emails: [{ value: 'ann@example.com', primary: false }] };
accounts[220] = { schemas: [USER], id: 'r220', userName: 'ann2', emails: [{ value: 'ANN@example.com', primary: true }] };

/** A target listing `accounts`; `ignoreFilter` answers a filtered GET with the first page of everyone. */
function fakeClient(ignoreFilter: boolean) {
  const calls: string[] = [];
  const client = {
    findOne: async (_t: string, filter: string) => {
      calls.push(`filter ${filter}`);
      if (!ignoreFilter) throw new Error('unexpected filter');
      return { status: 200, body: accounts.slice(0, 2), durationMs: 1 };
    },
    listPage: async (_t: string, startIndex: number, count: number) => {
      calls.push(`list ${startIndex} ${count}`);
      return { status: 200, body: { resources: accounts.slice(startIndex - 1, startIndex - 1 + count), totalResults: accounts.length }, durationMs: 1 };
    },
  };
  return { calls, traced: new TracedClient(client as never, new PushTrace(false, { targetId: 't', resourceType: 'User', resourceId: 'x', mode: 'live', jobId: 'j', attempt: 1 })) };
}

const target = (profile: Parameters<typeof resolveProfile>[0], matching = ['userName', 'emails[primary eq true].value']) =>
  ({ id: 't', matching: { User: matching, Group: ['displayName'] }, profile: resolveProfile(profile) }) as unknown as TargetConfig;
const trace = () => new PushTrace(false, { targetId: 't', resourceType: 'User', resourceId: 'x', mode: 'live', jobId: 'j', attempt: 1 });

describe('matching by scan (no filter)', () => {
  it('should evaluate matching paths with the SCIM evaluator: caseExact false, valuePath element filter', () => {
    const path = parseMatchPath('emails[primary eq true].value');
    const m = remoteMatcher(path, 'ann@example.com', 'User', o => readMatchValue(o, path));
    expect(accounts.filter(m).map(a => a.id)).toEqual(['r220']); // r150 holds it only as a secondary email
    const un = parseMatchPath('userName');
    expect(accounts.filter(remoteMatcher(un, 'ann@corp.example.com', 'User', o => readMatchValue(o, un))).map(a => a.id)).toEqual(['r150']);
  });

  it('should page through the listing (startIndex 1, 101, 201) and link the one account, without any filter', async () => {
    const { calls, traced } = fakeClient(false);
    const id = await findRemoteMatch(traced, target({ preset: 'no-filter' }), 'User', { userName: 'ann@corp.example.com' }, trace());
    expect(id).toBe('r150');
    expect(calls).toEqual(['list 1 100', 'list 101 100', 'list 201 100']);
  });

  it('should fall back to the scan when the target ignores the filter (lists everyone)', async () => {
    const { calls, traced } = fakeClient(true);
    const id = await findRemoteMatch(traced, target(undefined), 'User', { userName: 'x', emails: [{ value: 'ann@example.com', primary: true }] }, trace());
    expect(id).toBe('r220');
    expect(calls).toEqual(['filter userName eq "x"', 'list 1 100', 'list 101 100', 'list 201 100']);
  });

  it('should refuse to guess above matchScanLimit', async () => {
    const { traced } = fakeClient(false);
    await expect(findRemoteMatch(traced, target({ filter: false, matchScanLimit: 200 }), 'User', { userName: 'ann' }, trace()))
      .rejects.toThrow(MatchError);
  });
});
