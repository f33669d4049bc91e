import { Client } from 'pg';
import { request } from 'undici';
import { DbService } from '../../src/db/db.service.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { deliver, ENT, FakeHrApi, fixture, person, setSecretEnv, sourceDocs } from '../fixtures/hr/hr-test-kit.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe.each(storeKinds())('source precedence between an HR source and an IdP (%s)', db => {
  let h: Harness;
  let api: FakeHrApi;
  let app: DownstreamApp;

  beforeAll(async () => {
    setSecretEnv();
    api = new FakeHrApi();
    await api.start();
    app = await startScimmyApp({ token: TARGET_TOKEN });
    h = await Harness.start({
      db, targets: [{ id: 'apps', baseUrl: app.url, deprovision: 'disable' }],
      extraConfig: {
        hrSources: sourceDocs(api.url).filter(s => s.id === 'people'),
        ownership: {
          default: 'idp',
          people: ['title', 'name.givenName', 'name.familyName', 'active', `${ENT}:department`, `${ENT}:employeeNumber`, `${ENT}:costCenter`, `${ENT}:manager`],
          idp: ['emails', 'userName'],
        },
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await app?.close();
    await api?.close();
  });

  const hr = async (type: 'hired' | 'updated', vars: Record<string, string | number>) => {
    const r = await deliver(h.sb.url, 'people', 'standard-webhooks', fixture('standard-webhooks', `employee.${type}.json`, { ...vars, timestamp: new Date().toISOString() }));
    expect(r.status).toBe(202);
    // The HR queues are not in the harness's idle check: wait for the event and its due changes first.
    const db = h.get(DbService);
    const p = (sql: string) => sql.replace(/\$(\d+)/g, h.db.kind === 'postgres' ? '$$$1' : '?');
    await waitFor(async () => (await db.manager.query(p('SELECT status FROM hr_event WHERE id = $1'), [r.body.id]))[0].status !== 'accepted', 15_000, 'HR event processed');
    await waitFor(async () => Number((await db.manager.query(p("SELECT COUNT(*) AS n FROM scheduled_change WHERE hr_event_id = $1 AND status = 'pending'"), [r.body.id]))[0].n) === 0, 15_000, 'HR changes applied');
    await h.drain();
  };
  const get = async (id: string) => (await h.scim('GET', `/Users/${id}`)).body;

  it('keeps HR-owned attributes against IdP writes, IdP-owned ones against HR, and lets any source deactivate', async () => {
    const vars = person(`own${db[0]}`);
    await hr('hired', vars);
    const found = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${vars.email}"`)}`);
    const id = found.body.Resources[0].id as string;

    // IdP PUT: changes userName (its own) and title (HR's), omits the enterprise extension (HR's).
    const put = await h.scim('PUT', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `renamed.${vars.email}`, displayName: 'Set By IdP', title: 'IdP Title',
      name: { givenName: 'Idp', familyName: 'Name' }, emails: [{ value: `renamed.${vars.email}`, type: 'work', primary: true }], active: true,
    });
    expect(put.status).toBe(200);
    let u = await get(id);
    expect(u.userName).toBe(`renamed.${vars.email}`);
    expect(u.displayName).toBe('Set By IdP');
    expect(u.title).toBe('Engineer');
    expect(u.name).toMatchObject({ givenName: vars.firstName, familyName: vars.lastName });
    expect(u[ENT]).toMatchObject({ department: 'R&D', employeeNumber: vars.employeeId, costCenter: 'CC-4100' });

    // HR update: title is HR's; the userName and emails its mapping produces are the IdP's.
    await hr('updated', { ...vars, title: 'Senior Engineer', email: `hr.changed.${vars.email}` });
    u = await get(id);
    expect(u.title).toBe('Senior Engineer');
    expect(u.userName).toBe(`renamed.${vars.email}`);
    expect(u.emails[0].value).toBe(`renamed.${vars.email}`);

    // Any source may deactivate; only the owner of `active` (HR) may reactivate.
    expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    expect((await get(id)).active).toBe(false);
    expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] })).status).toBe(200);
    expect((await get(id)).active).toBe(false);
    await hr('hired', { ...vars, title: 'Senior Engineer', effectiveDate: new Date().toISOString() });
    await waitFor(async () => (await get(id)).active === true, 15_000, 'HR reactivation');

    await h.drain();
    const remote = app.users().find(r => r.userName === `renamed.${vars.email}`)!;
    expect(remote.title).toBe('Senior Engineer');
    expect(remote.active).toBe(true);

    const metrics = await (await request(`${h.sb.url}/metrics`)).body.text();
    expect(metrics).toMatch(/switchboard_source_precedence_ignored_total\{source="idp",attribute="title"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_source_precedence_ignored_total\{source="people",attribute="userName"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_source_precedence_ignored_total\{source="idp",attribute="active"\} [1-9]/);
  });

  it('applies an employee\'s events one at a time across worker processes (PostgreSQL advisory lock)', async () => {
    if (db !== 'postgres') return;
    const vars = person('lockpg');
    await hr('hired', vars);
    const id = (await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${vars.email}"`)}`)).body.Resources[0].id as string;
    // Another process holding this employee's lock (as a second worker mid-write would).
    const other = new Client({ connectionString: h.db.url });
    await other.connect();
    const key = `hr:people:${vars.employeeId}`;
    await other.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      const r = await deliver(h.sb.url, 'people', 'standard-webhooks', fixture('standard-webhooks', 'employee.updated.json', { ...vars, title: 'Held Title', timestamp: new Date().toISOString() }));
      expect(r.status).toBe(202);
      await new Promise(res => setTimeout(res, 1500));
      expect((await get(id)).title).toBe('Engineer');
    } finally {
      await other.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      await other.end();
    }
    await waitFor(async () => (await get(id)).title === 'Held Title', 15_000, 'the held HR update applied after the lock was released');
  });
});
