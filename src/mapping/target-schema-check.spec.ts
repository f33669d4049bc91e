import { request } from 'undici';
import type { MappingConfig, TargetConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import { ENTERPRISE_USER_SCHEMA as ENT } from '../scim/scim.constants.js';
import { startScimmyApp } from '../../test/downstream/scimmy-app.js';
import { startStrictApp } from '../../test/downstream/strict-app.js';
import type { DownstreamApp } from '../../test/downstream/downstream-app.js';
import { checkTargetSchemas, verifyTargetSchemas } from './target-schema-check.js';

const TOKEN = 'schema-check-token';

function target(mappings: MappingConfig[], schemaCheck: TargetConfig['schemaCheck'] = 'error', id = 'app'): TargetConfig {
  return {
    id, baseUrl: 'http://127.0.0.1:1/scim/v2', auth: { type: 'none' }, resourceTypes: ['User', 'Group'], passThrough: 'none', mappings, schemaCheck,
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' }, timeoutMs: 1000, concurrency: 1,
    retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 }, circuit: { failureThreshold: 1, probeIntervalMs: 1 },
  } as TargetConfig;
}

const good: MappingConfig[] = [
  { target: 'userName', source: 'userName' },
  { target: 'externalId', source: 'externalId' },
  { target: 'emails[type eq "work"].value', source: 'userName' },
  { target: 'name.givenName', source: 'name.givenName' },
  { target: `${ENT}:department`, value: 'R&D' },
  { target: 'displayName', source: 'displayName', resourceType: 'Group' },
];
const bad: MappingConfig[] = [
  { target: 'userName', source: 'userName' },
  { target: 'urn:vendor:scim:2.0:User:seat', value: 'gold' },
  { target: `${ENT}:costCentre`, value: 'CC' },
  { target: 'name.nickName', value: 'x' },
  { target: 'phoneNumbers[kind eq "mobile"].value', value: '1' },
];

describe.each<[string, (o: { token: string }) => Promise<DownstreamApp>]>([
  ['scimmy-app', startScimmyApp],
  ['strict-app', startStrictApp],
])('checkTargetSchemas against %s', (_name, start) => {
  let app: DownstreamApp;
  let schemas: unknown;
  beforeAll(async () => {
    app = await start({ token: TOKEN });
    const res = await request(`${app.url}/Schemas`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    schemas = await res.body.json();
  });
  afterAll(() => app.close());

  it('should find nothing wrong with paths the target serves', () => {
    expect(checkTargetSchemas(target(good), schemas)).toEqual([]);
  });

  it('should name each entry with an unknown schema, attribute, sub-attribute or filter attribute', () => {
    expect(checkTargetSchemas(target(bad), schemas)).toEqual([
      { index: 1, path: 'urn:vendor:scim:2.0:User:seat', reason: 'schema urn:vendor:scim:2.0:User is not served by the target\'s /Schemas' },
      { index: 2, path: `${ENT}:costCentre`, reason: `attribute "costCentre" is not in ${ENT}` },
      { index: 3, path: 'name.nickName', reason: 'sub-attribute "name.nickName" is not in urn:ietf:params:scim:schemas:core:2.0:User' },
      { index: 4, path: 'phoneNumbers[kind eq "mobile"].value', reason: 'sub-attribute "phoneNumbers.kind" is not in urn:ietf:params:scim:schemas:core:2.0:User' },
    ]);
  });
});

describe(verifyTargetSchemas.name, () => {
  const schemas = { Resources: [{ id: 'urn:ietf:params:scim:schemas:core:2.0:User', attributes: [{ name: 'userName' }, { name: 'groups', mutability: 'readOnly' }] }] };
  const fetchOk = async () => schemas;

  it('should refuse to start with one ConfigError naming target and entry when schemaCheck is error', async () => {
    const p = verifyTargetSchemas([target([{ target: 'title', value: 'x' }], 'error', 'app-one')], fetchOk, () => undefined);
    await expect(p).rejects.toBeInstanceOf(ConfigError);
    await expect(verifyTargetSchemas([target([{ target: 'title', value: 'x' }], 'error', 'app-one')], fetchOk, () => undefined))
      .rejects.toThrow('target app-one: mappings[0] (title): attribute "title" is not in urn:ietf:params:scim:schemas:core:2.0:User');
  });

  it('should warn and start when schemaCheck is warn, and skip when off', async () => {
    const warnings: string[] = [];
    const reports = await verifyTargetSchemas([
      target([{ target: 'title', value: 'x' }], 'warn', 'w'),
      target([{ target: 'title', value: 'x' }], 'off', 'o'),
    ], fetchOk, m => warnings.push(m));
    expect(warnings).toEqual(['target w: mappings[0] (title): attribute "title" is not in urn:ietf:params:scim:schemas:core:2.0:User']);
    expect(reports.map(r => [r.targetId, r.status])).toEqual([['w', 'findings'], ['o', 'skipped']]);
  });

  it('should warn but start when the target serves no /Schemas or is down', async () => {
    const warnings: string[] = [];
    const reports = await verifyTargetSchemas([
      target([{ target: 'title', value: 'x' }], 'error', 'none'),
      target([{ target: 'title', value: 'x' }], 'error', 'down'),
    ], async t => { if (t.id === 'down') throw new Error('connect ECONNREFUSED'); return undefined; }, m => warnings.push(m));
    expect(reports.map(r => r.status)).toEqual(['unavailable', 'unavailable']);
    expect(warnings.sort()).toEqual(['target down: /Schemas not checked (connect ECONNREFUSED)', 'target none: no /Schemas list served, mapping targets not checked']);
  });
});
