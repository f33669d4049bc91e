import { DbService } from '../../src/db/db.service.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { deliver, ENT, FakeHrApi, fixture, person, setSecretEnv, sourceDocs } from '../fixtures/hr/hr-test-kit.js';
import { storeKinds } from '../utils/databases.js';
import { deletePrefix } from '../utils/redis.js';
import { Harness, sleep, TARGET_TOKEN, waitFor } from '../utils/harness.js';

describe.each(storeKinds())('HR effective dating, out-of-order updates, rehire (%s)', db => {
  let h: Harness;
  let api: FakeHrApi;
  let app: DownstreamApp;
  let n = 0;
  const q = async (sql: string, params: unknown[] = []) => h.get(DbService).manager.query(sql.replace(/\$(\d+)/g, db === 'postgres' ? '$$$1' : '?'), params);

  beforeAll(async () => {
    setSecretEnv();
    api = new FakeHrApi();
    await api.start();
    app = await startScimmyApp({ token: TARGET_TOKEN });
    const people = sourceDocs(api.url, { 'standard-webhooks': { timezone: 'Europe/Berlin', preHireDays: 1, inactiveUntilStart: true } }).filter(s => s.id === 'people');
    // A second source of the same kind that provisions at the start date itself (preHireDays 0).
    people.push({ ...people[0], id: 'later', preHireDays: 0 });
    h = await Harness.start({
      db, targets: [{ id: 'apps', baseUrl: app.url, deprovision: 'disable' }],
      extraConfig: { hrSources: people, hr: { sweepIntervalMs: 400, staleAfterMs: 1000 } },
    });
  });

  afterAll(async () => {
    await h?.close();
    await app?.close();
    await api?.close();
  });

  const send = async (type: 'hired' | 'updated' | 'terminated' | 'termination_cancelled', vars: Record<string, string | number>, source = 'people') => {
    const r = await deliver(h.sb.url, source, 'standard-webhooks', fixture('standard-webhooks', `employee.${type}.json`, { ...vars, timestamp: vars.timestamp ?? new Date().toISOString() }));
    expect(r.status).toBe(202);
    return r.body.id as string;
  };
  const user = async (email: string | number) => {
    const r = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`);
    return r.body.Resources?.[0] as Record<string, any> | undefined;
  };
  const eventDone = (id: string) => waitFor(async () => (await q('SELECT status FROM hr_event WHERE id = $1', [id]))[0]?.status !== 'accepted', 15_000, `hr event ${id} processed`);
  const hired = async () => {
    const vars = person(`d${++n}${db[0]}`);
    await eventDone(await send('hired', vars));
    await waitFor(async () => (await user(vars.email))?.active === true, 15_000, 'hire applied');
    return { vars, id: (await user(vars.email))!.id as string };
  };
  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

  it('applies a future termination at its time, canonically and downstream', async () => {
    const { vars } = await hired();
    const at = Date.now() + 2500;
    await eventDone(await send('terminated', { ...vars, effectiveDate: new Date(at).toISOString() }));
    expect((await user(vars.email))!.active).toBe(true);
    const [row] = await q("SELECT status, effective_at FROM scheduled_change WHERE employee_id = $1 AND action = 'terminate'", [vars.employeeId]);
    expect(row).toEqual({ status: 'pending', effective_at: new Date(at).toISOString() });
    await waitFor(async () => (await user(vars.email))?.active === false, 15_000, 'termination applied');
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    await waitFor(() => app.users().find(u => u.userName === vars.email)?.active === false, 15_000, 'termination downstream');
  });

  it('fires a corrected termination once, at the new time', async () => {
    const { vars, id } = await hired();
    const first = Date.now() + 3000;
    await eventDone(await send('terminated', { ...vars, effectiveDate: new Date(first).toISOString() }));
    const corrected = Date.now() + 6000;
    const correction = await send('terminated', { ...vars, effectiveDate: new Date(corrected).toISOString() });
    await eventDone(correction);
    expect(Date.now()).toBeLessThan(first); // the correction came in time
    const version = (await user(vars.email))!.meta.version;
    await sleep(first - Date.now() + 1500);
    expect((await user(vars.email))!.active).toBe(true);
    await waitFor(async () => (await user(vars.email))?.active === false, 15_000, 'corrected termination');
    expect(Date.now()).toBeGreaterThanOrEqual(corrected);
    const rows = await q("SELECT status, hr_event_id, applied_at FROM scheduled_change WHERE employee_id = $1 AND action = 'terminate'", [vars.employeeId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('applied');
    expect(rows[0].hr_event_id).toBe(correction);
    await sleep(1500);
    // One write deactivated the user: the version moved by exactly one.
    const after = await h.scim('GET', `/Users/${id}`);
    expect(after.body.meta.version).toBe(`W/"${Number(/\d+/.exec(version)![0]) + 1}"`);
  });

  it('never fires a cancelled termination', async () => {
    const { vars } = await hired();
    const at = Date.now() + 4000;
    await eventDone(await send('terminated', { ...vars, effectiveDate: new Date(at).toISOString() }));
    await eventDone(await send('termination_cancelled', vars));
    expect(Date.now()).toBeLessThan(at); // the cancel came in time (else the box is too slow for this test)
    await sleep(at - Date.now() + 2000);
    expect((await user(vars.email))!.active).toBe(true);
    const [row] = await q("SELECT status FROM scheduled_change WHERE employee_id = $1 AND action = 'terminate'", [vars.employeeId]);
    expect(row.status).toBe('cancelled');
  });

  it('applies a pending termination after Redis lost its data (own prefix deleted)', async () => {
    const { vars } = await hired();
    await eventDone(await send('terminated', { ...vars, effectiveDate: inSeconds(3) }));
    await deletePrefix(h.redisUrl, h.prefix);
    await waitFor(async () => (await user(vars.email))?.active === false, 20_000, 'termination after the Redis flush');
  });

  it('provisions a future hire preHireDays early, inactive until its start', async () => {
    const start = Date.now() + 3000;
    const vars = person(`p${++n}${db[0]}`, { effectiveDate: new Date(start).toISOString() });
    await eventDone(await send('hired', vars));
    await waitFor(async () => (await user(vars.email)) !== undefined, 15_000, 'pre-hire provisioned');
    expect((await user(vars.email))!.active).toBe(false);
    await waitFor(async () => (await user(vars.email))?.active === true, 15_000, 'activation at start');
    expect(Date.now()).toBeGreaterThanOrEqual(start);
  });

  it('applies updates that arrive before a future hire is provisioned, once it is', async () => {
    const start = Date.now() + 3000;
    const vars = person(`l${++n}${db[0]}`, { effectiveDate: new Date(start).toISOString() });
    await eventDone(await send('hired', vars, 'later'));
    const early = await send('updated', { ...vars, title: 'Promoted Before Start', timestamp: new Date(Date.now() + 1000).toISOString() }, 'later');
    await eventDone(early);
    expect(await user(vars.email)).toBeUndefined();
    expect((await q('SELECT status FROM hr_event WHERE id = $1', [early]))[0].status).toBe('ignored');
    await waitFor(async () => (await user(vars.email))?.active === true, 15_000, 'provisioning at the start');
    expect(Date.now()).toBeGreaterThanOrEqual(start);
    await waitFor(async () => (await user(vars.email))?.title === 'Promoted Before Start', 5_000, 'the early update');
    expect((await q('SELECT status FROM hr_event WHERE id = $1', [early]))[0].status).toBe('applied');
  });

  it('reads a date without time in the source time zone: termination at the end of that day', async () => {
    const { vars } = await hired();
    await eventDone(await send('terminated', { ...vars, effectiveDate: '2030-01-15' }));
    const [row] = await q("SELECT effective_at FROM scheduled_change WHERE employee_id = $1 AND action = 'terminate' AND status = 'pending'", [vars.employeeId]);
    // Europe/Berlin is UTC+1 in January: the end of 15 January is 23:00 UTC.
    expect(row.effective_at).toBe('2030-01-15T23:00:00.000Z');
    await eventDone(await send('termination_cancelled', vars));
  });

  it('rehire reactivates the same identity', async () => {
    const { vars, id } = await hired();
    await eventDone(await send('terminated', { ...vars, effectiveDate: new Date().toISOString() }));
    await waitFor(async () => (await user(vars.email))?.active === false, 15_000, 'termination');
    await eventDone(await send('hired', { ...vars, title: 'Rehired Engineer', effectiveDate: new Date().toISOString() }));
    await waitFor(async () => (await user(vars.email))?.active === true, 15_000, 'rehire');
    const u = (await user(vars.email))!;
    expect(u.id).toBe(id);
    expect(u.title).toBe('Rehired Engineer');
  });

  it('ends out-of-order updates in the newer state, and resolves the manager by employee id', async () => {
    const boss = await hired();
    const { vars } = await hired();
    const t0 = Date.now();
    const newer = send('updated', { ...vars, title: 'Staff Engineer', managerId: boss.vars.employeeId, timestamp: new Date(t0 + 10_000).toISOString() });
    await eventDone(await newer);
    await eventDone(await send('updated', { ...vars, title: 'Junior Engineer', department: 'Support', timestamp: new Date(t0).toISOString() }));
    const u = (await user(vars.email))!;
    expect(u.title).toBe('Staff Engineer');
    expect(u[ENT].department).toBe('R&D');
    expect(u[ENT].manager.value).toBe(boss.id);
  });
});
