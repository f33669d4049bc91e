import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildAppConfig, missingSecrets } from './app-config.js';
import { loadEnv } from './env.js';

describe('hrSources and ownership config', () => {
  it('validates the example file with its HR sources and precedence', () => {
    // Only the HR part of the example: the other sections have their own checks.
    const { clients, hrSources, ownership } = parse(readFileSync(join(__dirname, '../../switchboard.example.yaml'), 'utf8'));
    const c = buildAppConfig({ clients, hrSources, ownership }, loadEnv({}));
    expect(c.hr.sources.map(s => [s.id, s.kind])).toEqual([['people', 'standard-webhooks'], ['bamboo', 'bamboohr']]);
    expect(c.hr.sources[1].hmac).toMatchObject({ algorithm: 'sha256', signatureHeader: 'x-bamboohr-signature', timestampHeader: 'x-bamboohr-timestamp' });
    expect(c.hr.ownership.default).toBe('okta');
    expect(c.hr.ownership.owners.get('title')).toBe('people');
    expect(missingSecrets(c, {})).toEqual(expect.arrayContaining(['PEOPLE_WEBHOOK_SECRET (hr source people)', 'BAMBOOHR_WEBHOOK_KEY (hr source bamboo)']));
  });

  it('lists every problem at once, never a secret value', () => {
    expect(() => buildAppConfig({
      hrSources: [
        { id: 'a', kind: 'standard-webhooks' },
        { id: 'a', kind: 'personio', secretEnv: 'lower', timezone: 'Mars/Base', verifier: { algorithm: 'sha256' } },
        { id: 'b', kind: 'workday', secretEnv: 'X' },
        { id: 'c', kind: 'gusto', secretEnv: 'X', employeeId: 'entity_uuid ++', mappings: [{ target: 'title', expression: '$uppercase(' }] },
      ],
      ownership: { people: ['title'], okta: ['title'] },
    }, loadEnv({}))).toThrow(new RegExp([
      'hrSources\\[2\\].kind: kind must be one of', 'hrSources\\[0\\].secretEnv: required', 'hrSources\\[1\\].secretEnv: must name environment variables',
      'only HMAC kinds', 'unknown IANA time zone', 'hrSources\\[3\\] \\(c\\).mappings\\[0\\]: invalid JSONata', 'hrSources\\[3\\] \\(c\\).employeeId: invalid JSONata', 'duplicate id "a"', 'owned by both people and okta', 'ownership.default: required',
    ].join('[\\s\\S]*')));
  });
});
