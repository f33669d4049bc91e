import { request } from 'undici';
import { DbService } from '../../src/db/db.service.js';
import { HrIdentityWriter } from '../../src/hr/hr-identity.writer.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { deliver, ENT, FakeHrApi, fixture, person, setSecretEnv, sourceDocs } from '../fixtures/hr/hr-test-kit.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

/** Validly signed payloads that are bad data: each is stored `rejected` (or its change `failed`) with the reason, never a 5xx. */
describe.each(storeKinds())('HR bad input: rejected with the reason, never a 5xx or a retry loop (%s)', db => {
  let h: Harness;
  let api: FakeHrApi;
  let app: DownstreamApp;
  let n = 0;
  const q = async (sql: string, params: unknown[] = []) => h.get(DbService).manager.query(sql.replace(/\$(\d+)/g, db === 'postgres' ? '$$$1' : '?'), params);
  const admin = async (path: string) => {
    const res = await request(`${h.sb.url}/admin/hr${path}`, { headers: { authorization: 'Bearer hr-bad-ops-token' } });
    return { status: res.statusCode, body: await res.body.json() as any };
  };

  beforeAll(async () => {
    setSecretEnv();
    api = new FakeHrApi();
    await api.start();
    app = await startScimmyApp({ token: TARGET_TOKEN });
    // `people` answers rejections 200 (default); `strict` is the same source answering 422.
    const people = sourceDocs(api.url).filter(s => s.id === 'people');
    people.push({ ...people[0], id: 'strict', rejectStatus: 422 });
    people.push({ ...people[0], id: 'echo', action: 'act' });
    h = await Harness.start({
      db, targets: [{ id: 'apps', baseUrl: app.url, deprovision: 'disable' }],
      extraConfig: { hrSources: people, hr: { sweepIntervalMs: 300, staleAfterMs: 1000 } },
      clients: [{ id: 'ops', token: 'hr-bad-ops-token', scopes: ['admin:read'] }],
    });
  });

  afterAll(async () => {
    await h?.close();
    await app?.close();
    await api?.close();
  });

  const body = (type: 'hired' | 'terminated', vars: Record<string, string | number>, edit?: (doc: any) => void) => {
    const doc = JSON.parse(fixture('standard-webhooks', `employee.${type}.json`, vars));
    edit?.(doc);
    return JSON.stringify(doc);
  };
  const rejected = async (payload: string, reason: RegExp, source = 'people') => {
    const r = await deliver(h.sb.url, source, 'standard-webhooks', payload);
    expect(r.status).toBe(source === 'strict' ? 422 : 200);
    expect(r.body).toMatchObject({ status: 'rejected', reason: expect.stringMatching(reason) });
    const [row] = await q('SELECT status, reason FROM hr_event WHERE id = $1', [r.body.id]);
    expect(row).toEqual({ status: 'rejected', reason: r.body.reason });
    expect(Number((await q('SELECT COUNT(*) AS n FROM scheduled_change WHERE hr_event_id = $1', [r.body.id]))[0].n)).toBe(0);
    return r.body;
  };

  it('rejects a body that is JSON null or a bare scalar, keeping the raw text', async () => {
    const r = await rejected('null', /^the body is not a JSON object/);
    const [row] = await q('SELECT payload FROM hr_event WHERE id = $1', [r.id]);
    expect(JSON.parse(row.payload)).toEqual({ raw: 'null' });
    await rejected('42', /^the body is not a JSON object/, 'strict');
  });

  it('rejects JSON nested deeper than 64 levels (100,000 deep, under the 1 MB limit) before storing it', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect(deep.length).toBeLessThan(1024 * 1024);
    const r = await rejected(deep, /^the body is nested deeper than 64 levels$/);
    const [row] = await q('SELECT payload FROM hr_event WHERE id = $1', [r.id]);
    expect(JSON.parse(row.payload).raw).toBe(deep.slice(0, 65536));
    await rejected(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, /nested deeper than 64/, 'strict');
    // 64 levels are fine (then rejected for what they say, not for their shape).
    const ok = await deliver(h.sb.url, 'people', 'standard-webhooks', JSON.stringify({ type: 'payroll.run', x: JSON.parse(`${'['.repeat(62)}${']'.repeat(62)}`) }));
    expect(ok.body.reason).toMatch(/unknown event type/);
  });

  it('rejects effective dates that are not real dates: 1e20, 2026-02-30, year 1850', async () => {
    const vars = person(`bad${++n}${db[0]}`);
    await rejected(body('terminated', vars, d => { d.data.effectiveDate = 1e20; }), /^effectiveAt is not a date/);
    await rejected(body('terminated', vars, d => { d.data.effectiveDate = '2026-02-30'; }), /^effectiveAt is not a date/, 'strict');
    await rejected(body('hired', vars, d => { d.data.effectiveDate = '1850-01-01'; }), /^effectiveAt is not a date/);
  });

  it('rejects an employee id longer than the column (200) instead of cutting it', async () => {
    const vars = person(`long${++n}${db[0]}`, { employeeId: 'E'.repeat(201) });
    await rejected(body('hired', vars), /^employee id is longer than 200 characters$/);
    expect(Number((await q("SELECT COUNT(*) AS n FROM hr_event WHERE employee_id LIKE 'EEEE%'"))[0].n)).toBe(0);
  });

  it('rejects U+0000 in the employee id and keeps it out of stored text (PostgreSQL text cannot hold it)', async () => {
    const vars = person(`nul${++n}${db[0]}`);
    await rejected(body('hired', vars, d => { d.data.employee.id = 'E\u00001'; }), /^employee id contains U\+0000$/);
    // An action that echoes the payload's text into the reason (`unknown action "…"`).
    const r = await rejected(JSON.stringify({ type: 'employee.updated', data: { employee: { id: 'E1' } }, act: 'x\u0000y' }), /^unknown action "x\uFFFDy"$/, 'echo');
    expect(r.reason).not.toContain('\u0000');
  });

  it('hires an employee whose id is a JSON number, under its decimal string', async () => {
    const num = 7_000_000 + (db === 'postgres' ? 2 : 1) * 1000 + ++n;
    const vars = person(`num${n}${db[0]}`);
    const r = await deliver(h.sb.url, 'people', 'standard-webhooks', body('hired', vars, d => { d.data.employee.id = num; }));
    expect(r.status).toBe(202);
    await waitFor(async () => (await q("SELECT status FROM scheduled_change WHERE hr_event_id = $1 AND action = 'hire'", [r.body.id]))[0]?.status === 'applied', 15_000, 'numeric-id hire applied');
    const users = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${vars.email}"`)}`);
    expect(users.body.Resources).toHaveLength(1);
    expect(users.body.Resources[0][ENT].employeeNumber).toBe(String(num));
    const [ev] = await q('SELECT employee_id FROM hr_event WHERE id = $1', [r.body.id]);
    expect(ev.employee_id).toBe(String(num));
    // A later termination sent with the id as a string finds the same employee.
    const t = await deliver(h.sb.url, 'people', 'standard-webhooks', body('terminated', { ...vars, employeeId: String(num) }));
    expect(t.status).toBe(202);
    await waitFor(async () => (await h.scim('GET', `/Users/${users.body.Resources[0].id}`)).body.active === false, 15_000, 'numeric-id termination applied');
  });

  it('marks a hire that can never apply (userName 100,000 characters) failed with the reason, and stops retrying', async () => {
    const vars = person(`huge${++n}${db[0]}`);
    vars.email = `${'x'.repeat(100_000)}@example.com`;
    const r = await deliver(h.sb.url, 'people', 'standard-webhooks', body('hired', vars));
    expect(r.status).toBe(202);
    await waitFor(async () => (await q("SELECT status FROM scheduled_change WHERE hr_event_id = $1 AND action = 'hire'", [r.body.id]))[0]?.status === 'failed', 15_000, 'hire failed');
    const [row] = await q("SELECT id, updated_at FROM scheduled_change WHERE hr_event_id = $1 AND action = 'hire'", [r.body.id]);
    const list = await admin(`/scheduled-changes?status=failed&employeeId=${vars.employeeId}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: row.id, status: 'failed', action: 'hire', reason: expect.stringMatching(/^scheduled hire cannot apply: .*userName/i) })]);
    // Three sweeps later nothing changed: no retry loop.
    await new Promise(res => setTimeout(res, 1000));
    const [again] = await q('SELECT status, updated_at FROM scheduled_change WHERE id = $1', [row.id]);
    expect(again).toEqual({ status: 'failed', updated_at: row.updated_at });
  });

  it('keeps a change pending through a transient error (retried), then applies it', async () => {
    const vars = person(`flaky${++n}${db[0]}`);
    const writer = h.get(HrIdentityWriter);
    const real = writer.write.bind(writer);
    let calls = 0;
    // The hire's own write fails once like a dropped database connection (no status: not a 4xx).
    writer.write = async (source, ev, opts) => {
      if (opts.create && ev.employeeId === vars.employeeId && calls++ === 0) throw new Error('Connection terminated unexpectedly');
      return real(source, ev, opts);
    };
    try {
      const r = await deliver(h.sb.url, 'people', 'standard-webhooks', body('hired', vars));
      expect(r.status).toBe(202);
      await waitFor(async () => (await q("SELECT status FROM scheduled_change WHERE hr_event_id = $1 AND action = 'hire'", [r.body.id]))[0]?.status === 'applied', 15_000, 'hire applied after the retry');
      expect(calls).toBeGreaterThanOrEqual(2);
      const [ev] = await q('SELECT status FROM hr_event WHERE id = $1', [r.body.id]);
      expect(ev.status).toBe('applied');
      // The transient error was no verdict: the row never went `failed`.
      expect((await admin(`/scheduled-changes?status=failed&employeeId=${vars.employeeId}`)).body.items).toEqual([]);
    } finally {
      writer.write = real;
    }
  });
});
