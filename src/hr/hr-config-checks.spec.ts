import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAppConfig, loadConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import { loadEnv } from '../config/env.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The problems buildAppConfig reports for `doc` (empty when it is valid). */
function problems(doc: Record<string, unknown>): string[] {
  try {
    buildAppConfig(doc, loadEnv({}));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

const people = (extra: Record<string, unknown> = {}) => ({ id: 'people', kind: 'standard-webhooks', secretEnv: 'PEOPLE_SECRET', ...extra });

describe('HR source config is refused at start (and by check-config), naming source and key', () => {
  it('accepts a valid source with enterprise targets and match keys', () => {
    expect(problems({
      clients: [{ id: 'okta', tokenEnv: 'OKTA', scopes: ['scim:write'] }],
      hrSources: [people({ match: ['employeeNumber', 'emails', 'externalId'], mappings: [{ target: 'userName', source: 'a' }, { target: `${ENT}:manager.value`, source: 'm' }] })],
      ownership: { default: 'okta', people: ['title'] },
    })).toEqual([]);
  });

  it('refuses expressions that do not compile: action, employeeId and a mapping', () => {
    const p = problems({ hrSources: [people({ action: '$nosuch(', employeeId: 'data.((', mappings: [{ target: 'title', expression: 'a +' }] })] });
    expect(p).toEqual([
      expect.stringMatching(/^hrSources\[0\] \(people\)\.mappings\[0\]: invalid JSONata/),
      expect.stringMatching(/^hrSources\[0\] \(people\)\.employeeId: invalid JSONata/),
      expect.stringMatching(/^hrSources\[0\] \(people\)\.action: invalid JSONata/),
    ]);
  });

  it('refuses mapping targets that are not writable User attributes and unknown match keys', () => {
    const p = problems({ hrSources: [people({ match: ['shoeSize'], mappings: [{ target: 'shoeSize', source: 'a' }, { target: 'password', source: 'b' }, { target: 'id', source: 'c' }] })] });
    expect(p).toEqual([
      'hrSources[0] (people).mappings[0].target: "shoeSize" is not a User attribute',
      'hrSources[0] (people).mappings[1].target: "password" cannot be set by an HR source (never returned)',
      'hrSources[0] (people).mappings[2].target: "id" cannot be set by an HR source (readOnly)',
      'hrSources[0] (people).match: "shoeSize" is not a User attribute',
    ]);
  });

  it('refuses ownership naming ids that are neither clients nor HR sources', () => {
    const p = problems({ clients: [{ id: 'okta', tokenEnv: 'OKTA', scopes: ['scim:write'] }], hrSources: [people()], ownership: { default: 'octa', peeple: ['title'], people: ['name'] } });
    expect(p).toEqual([
      'ownership.default: "octa" is neither a client id nor an HR source id',
      'ownership.peeple: "peeple" is neither a client id nor an HR source id',
    ]);
  });

  it('is what loadConfig (start and `switchboard check-config`) reports for a YAML file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-hr-')), 'switchboard.yaml');
    writeFileSync(path, [
      'hrSources:',
      '  - { id: people, kind: standard-webhooks, secretEnv: PEOPLE_SECRET, action: "$nosuch(", match: [shoeSize], mappings: [{ target: password, source: x }] }',
      'ownership: { default: octa }',
    ].join('\n'));
    let problems: readonly string[] = [];
    try { loadConfig({ SWITCHBOARD_CONFIG: path }); } catch (e) { problems = (e as ConfigError).problems; }
    expect(problems).toEqual([
      expect.stringMatching(/^hrSources\[0\] \(people\)\.action: invalid JSONata/),
      'hrSources[0] (people).mappings[0].target: "password" cannot be set by an HR source (never returned)',
      'hrSources[0] (people).match: "shoeSize" is not a User attribute',
      'ownership.default: "octa" is neither a client id nor an HR source id',
    ]);
  });
});
