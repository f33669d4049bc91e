import { buildAppConfig } from './app-config.js';
import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';

const env = loadEnv({});
const target = { id: 'app-one', baseUrl: 'http://127.0.0.1:9001/scim/v2', auth: { type: 'bearer', tokenEnv: 'APP_ONE_TOKEN' } };
const ext = 'urn:acme:params:scim:schemas:extension:hr:1.0:User';

/** The problems buildAppConfig reports for `doc`; fails the test on any other kind of throw. */
function problemsOf(doc: unknown): string[] {
  try {
    buildAppConfig(doc, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${(e as Error)?.stack ?? String(e)}`);
    return e.problems;
  }
  return [];
}

describe('buildAppConfig on wrongly typed keys: one ConfigError naming the key, never a crash', () => {
  it.each<[string, unknown, string]>([
    ['mappings as a string', { targets: [{ ...target, mappings: 'x' }] }, 'targets[0].mappings: mappings must be an array'],
    ['mappings as an object', { targets: [{ ...target, mappings: { target: 'title' } }] }, 'targets[0].mappings: mappings must be an array'],
    ['a mapping entry as a string', { targets: [{ ...target, mappings: ['title'] }] }, 'targets[0].mappings[0]'],
    ['profile preset unknown', { targets: [{ ...target, profile: { preset: 'slackish' } }] }, 'targets[0].profile.preset: preset must be one of the following values: generic, put-only, eq-only, no-filter'],
    ['profile as a string', { targets: [{ ...target, profile: 'slackish' }] }, 'targets[0].profile'],
    ['a mapping resourceType unknown', { targets: [{ ...target, mappings: [{ target: 'title', value: 'a', resourceType: 'Device' }] }] },
      'targets[0].mappings[0].resourceType: resourceType must be one of the following values: User, Group'],
    ['targets as a string', { targets: 'x' }, 'targets: targets must be an array'],
    ['a target as a string', { targets: ['x'] }, 'targets[0]'],
    ['clients as an object', { clients: { id: 'a' } }, 'clients: clients must be an array'],
    ['schemas attributes as a string', { schemas: [{ id: ext, name: 'HR', extends: 'User', attributes: 'x' }] }, 'schemas[0].attributes'],
    ['schemas as a string', { schemas: 'x' }, 'schemas: schemas must be an array'],
    ['matching as a number', { targets: [{ ...target, matching: 3 }] }, 'targets[0].matching'],
    ['deprovision as a number', { targets: [{ ...target, deprovision: 3 }] }, 'targets[0].deprovision'],
    ['rateLimit as a string', { targets: [{ ...target, rateLimit: 'x' }] }, 'targets[0].rateLimit'],
    ['deletionGuard as a string', { targets: [{ ...target, deletionGuard: 'x' }] }, 'targets[0].deletionGuard'],
    ['auth as a string', { targets: [{ ...target, auth: 'x' }] }, 'targets[0].auth'],
    ['retry as a string', { targets: [{ ...target, retry: 'x' }] }, 'targets[0].retry'],
  ])('%s', (_name, doc, line) => {
    const problems = problemsOf(doc);
    expect(problems.join('\n')).toContain(line);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['rateLimit.max: lots', { rateLimit: { max: 'lots' } }, 'targets[0].rateLimit.max', 'targets[0].rateLimit.max: max must be an integer number'],
    ['timeoutMs: soon', { timeoutMs: 'soon' }, 'targets[0].timeoutMs', 'targets[0].timeoutMs: timeoutMs must be an integer number'],
    ['resourceTypes: User', { resourceTypes: 'User' }, 'targets[0].resourceTypes', 'targets[0].resourceTypes: resourceTypes must be an array'],
  ])('should say only what is wrong with the type of %s (no range messages that contradict each other)', (_name, extra, key, line) => {
    const lines = problemsOf({ targets: [{ ...target, ...extra }] }).filter(p => p.startsWith(`${key}:`));
    expect(lines).toEqual([line]);
  });

  it('should still report a range problem for a number of the right type', () => {
    expect(problemsOf({ targets: [{ ...target, rateLimit: { max: 0 } }] })).toEqual(['targets[0].rateLimit.max: max must not be less than 1']);
  });

  it('should accept an empty file and schemas: null (no clients, no targets)', () => {
    const c = buildAppConfig(null, env);
    expect(c.clients).toEqual([]);
    expect(c.targets).toEqual([]);
    expect(buildAppConfig({ schemas: null }, env).schemas).toEqual({ schemas: [], extensions: [] });
  });
});
