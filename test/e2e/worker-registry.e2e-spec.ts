import { request } from 'undici';
import { buildAppConfig } from '../../src/config/app-config.js';
import { loadEnv } from '../../src/config/env.js';
import { DbService } from '../../src/db/db.service.js';
import { ResourceService } from '../../src/identity/resource.service.js';
import { RunningSwitchboard, startSwitchboard } from '../../src/main.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { deliver, fixture, person, setSecretEnv, sourceDocs } from '../fixtures/hr/hr-test-kit.js';
import { postgresDatabase, storeKinds, TestDatabase } from '../utils/databases.js';
import { CLIENT_TOKEN, waitFor } from '../utils/harness.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';

/**
 * Every role indexes custom extension attributes (switchboard.yaml `schemas:`) with the one configured
 * SchemaRegistry (CoreModule): a write made by a worker-only process (HR events, admin actions) is
 * found by a SCIM filter on the api process. Before, only the api's ResourceService had the configured
 * registry; the worker indexed with the core schemas alone and such filters missed its writes.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ACME = 'urn:acme:scim:schemas:extension:hr:2.0:User';
const SCHEMAS = [{
  id: ACME,
  name: 'AcmeUser',
  resourceType: 'User',
  attributes: [
    { name: 'costCenter', type: 'string' },
    { name: 'employeeCode', type: 'string', caseExact: true },
    { name: 'hireDate', type: 'dateTime' },
    { name: 'badgeNumber', type: 'integer' },
    { name: 'site', type: 'complex', subAttributes: [{ name: 'code', type: 'string', caseExact: true }] },
  ],
}];

// Separate api and worker processes need PostgreSQL (registered only where it answers, as in roles.e2e-spec.ts).
if (storeKinds().includes('postgres')) describe('custom extension attributes written by a worker-only process (postgres)', () => {
  let db: TestDatabase;
  let api: RunningSwitchboard;
  let worker: RunningSwitchboard;
  const prefix = `sbtest-wreg-${process.pid}`;
  const ctx = { origin: 'hr:workday', correlationId: 'worker-registry' };

  beforeAll(async () => {
    db = await postgresDatabase();
    process.env.SB_TEST_CLIENT_TOKEN = CLIENT_TOKEN;
    setSecretEnv();
    // The `people` HR source (Standard Webhooks, no fetch) also maps its cost center into the extension.
    const people = sourceDocs('http://127.0.0.1:9').find(d => d.id === 'people')!;
    const hrSources = [{ ...people, mappings: [...(people.mappings as object[]), { target: `${ACME}:costCenter`, expression: '"HR-" & data.employee.costCenter' }] }];
    const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
    const config = buildAppConfig({
      clients: [{ id: 'idp', tokenEnv: 'SB_TEST_CLIENT_TOKEN', scopes: ['scim:read', 'scim:write'] }],
      schemas: SCHEMAS,
      hrSources,
      pipeline: { relayIntervalMs: 50 },
    }, env);
    // The worker first: it must not depend on the api having started in the same process.
    worker = await startSwitchboard({ role: 'worker', config, port: 0, host: '127.0.0.1' });
    api = await startSwitchboard({ role: 'api', config, port: 0, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix).catch(() => undefined);
    await db?.drop();
  });

  async function filterIds(filter: string): Promise<string[]> {
    const res = await request(`${api.url}/scim/v2/Users?filter=${encodeURIComponent(filter)}&count=100`, {
      headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
    });
    const body = await res.body.json() as { Resources?: Array<{ id: string }> };
    expect(res.statusCode).toBe(200);
    return (body.Resources ?? []).map(r => r.id).sort();
  }

  it('should give the worker the configured registry, not the core schemas alone', () => {
    const registry = worker.app.get(SchemaRegistry);
    expect(registry.schemasFor('User').map(s => s.id)).toContain(ACME);
    // One instance per process, shared by every module that resolves it.
    expect(worker.app.get(SchemaRegistry)).toBe(registry);
  });

  it('should find a user created and updated through the worker ResourceService by filters on its extension attributes', async () => {
    const resources = worker.app.get(ResourceService);
    const created = await resources.create('User', {
      doc: {
        schemas: [USER, ACME],
        userName: 'ext.worker@example.com',
        [ACME]: { costCenter: 'CC-42', employeeCode: 'Ab-7', hireDate: '2026-01-05T09:00:00+01:00', badgeNumber: 1234, site: { code: 'PAR' } },
      },
    }, ctx);
    const other = await resources.create('User', {
      doc: { schemas: [USER, ACME], userName: 'ext.other@example.com', [ACME]: { costCenter: 'CC-7', employeeCode: 'ab-7', badgeNumber: 99 } },
    }, ctx);

    // caseInsensitive string: any letter case matches.
    expect(await filterIds(`${ACME}:costCenter eq "cc-42"`)).toEqual([created.id]);
    // caseExact: only the exact case.
    expect(await filterIds(`${ACME}:employeeCode eq "Ab-7"`)).toEqual([created.id]);
    expect(await filterIds(`${ACME}:employeeCode eq "ab-7"`)).toEqual([other.id]);
    // dateTime compared as an instant (08:00Z), integer compared as a number (1234 > 99 although "1234" < "99").
    expect(await filterIds(`${ACME}:hireDate eq "2026-01-05T08:00:00Z"`)).toEqual([created.id]);
    expect(await filterIds(`${ACME}:badgeNumber gt 100`)).toEqual([created.id]);
    expect(await filterIds(`${ACME}:site.code eq "PAR"`)).toEqual([created.id]);
    expect(await filterIds(`${ACME}:badgeNumber pr`)).toEqual([created.id, other.id].sort());

    // An update by the worker re-indexes with the same registry: the old value no longer matches.
    const updated = await resources.update('User', created.id, ctx, current => ({
      doc: { ...current.doc, [ACME]: { ...(current.doc[ACME] as Record<string, unknown>), costCenter: 'CC-43', badgeNumber: 5 } },
    }));
    expect(updated.changed).toBe(true);
    expect(await filterIds(`${ACME}:costCenter eq "CC-42"`)).toEqual([]);
    expect(await filterIds(`${ACME}:costCenter eq "CC-43"`)).toEqual([created.id]);
    expect(await filterIds(`${ACME}:badgeNumber lt 10`)).toEqual([created.id]);
  });

  it('should find a user hired through an HR webhook (received by the api, written by the worker) by its mapped extension attribute', async () => {
    const vars = person('wreg');
    const r = await deliver(api.url, 'people', 'standard-webhooks', fixture('standard-webhooks', 'employee.hired.json', vars));
    expect(r.status).toBe(202);
    const db = api.app.get(DbService);
    const status = async () => (await db.manager.query('SELECT status FROM hr_event WHERE id = $1', [r.body.id]))[0]?.status as string;
    await waitFor(async () => (await status()) !== 'accepted', 20_000, 'the worker to process the HR event');
    expect(await status()).toBe('applied');
    // The hire is immediate (effectiveDate now): the user exists once its due change is applied.
    await waitFor(async () => (await filterIds(`userName eq "${vars.email}"`)).length === 1, 20_000, 'the hire to be applied');
    const [id] = await filterIds(`userName eq "${vars.email}"`);
    expect(await filterIds(`${ACME}:costCenter eq "hr-cc-4100"`)).toEqual([id]);
    // The HR write path validates with the configured registry too: the extension is declared in `schemas`.
    const res = await request(`${api.url}/scim/v2/Users/${id}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    const user = await res.body.json() as Record<string, any>;
    expect(res.statusCode).toBe(200);
    expect(user.schemas).toEqual(expect.arrayContaining([USER, ACME]));
    expect(user[ACME]).toEqual({ costCenter: 'HR-CC-4100' });
  });
});
