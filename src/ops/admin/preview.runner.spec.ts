import { ConfigError } from '../../config/config.error.js';
import { loadEnv } from '../../config/env.js';
import { resolveCandidateTarget } from './preview.runner.js';

const block = { id: 'cand', baseUrl: 'http://127.0.0.1:9001/scim/v2', auth: { type: 'none' } };

describe(resolveCandidateTarget.name, () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['mappings: x', { mappings: 'x' }, 'mappings: mappings must be an array'],
    ['profile: { preset: slackish }', { profile: { preset: 'slackish' } }, 'profile.preset: preset must be one of the following values: generic, put-only, eq-only, no-filter'],
    ['a mapping for resourceType Device', { mappings: [{ target: 'title', value: 'a', resourceType: 'Device' }] }, 'mappings[0].resourceType: resourceType must be one of the following values: User, Group'],
    ['rateLimit.max: lots', { rateLimit: { max: 'lots' } }, 'rateLimit.max: max must be an integer number'],
  ])('should refuse %s with a ConfigError (admin preview answers 400), never a crash', (_name, extra, line) => {
    let err: unknown;
    try { resolveCandidateTarget({ ...block, ...extra }, loadEnv({})); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([line]);
  });
});
