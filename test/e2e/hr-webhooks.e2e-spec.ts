import { request } from 'undici';
import { HrKind } from '../../src/config/hr-config.dto.js';
import { DbService } from '../../src/db/db.service.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import {
  apiRecord, deliver, ENT, FakeHrApi, fixture, hireBody, person, post, SECRETS, setSecretEnv, sourceDocs,
} from '../fixtures/hr/hr-test-kit.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';

const KINDS: Array<{ kind: HrKind; source: string }> = [
  { kind: 'standard-webhooks', source: 'people' },
  { kind: 'bamboohr', source: 'bamboo' },
  { kind: 'hibob', source: 'bob' },
  { kind: 'gusto', source: 'gusto' },
  { kind: 'personio', source: 'personio' },
  { kind: 'rippling', source: 'rippling' },
];

describe.each(storeKinds())('HR webhooks: verification, idempotency, bad payloads, hire to downstream (%s)', db => {
  let h: Harness;
  let api: FakeHrApi;
  let app: DownstreamApp;
  let n = 0;
  const rows = async (sql: string, params: unknown[] = []) => h.get(DbService).manager.query(sql.replace(/\$(\d+)/g, db === 'postgres' ? '$$$1' : '?'), params);
  const count = async (sourceId: string) => Number((await rows('SELECT COUNT(*) AS n FROM hr_event WHERE source_id = $1', [sourceId]))[0].n);
  const outboxCount = async () => Number((await rows("SELECT COUNT(*) AS n FROM change_event WHERE kind = 'hr-event'"))[0].n);

  beforeAll(async () => {
    setSecretEnv();
    api = new FakeHrApi();
    await api.start();
    app = await startScimmyApp({ token: TARGET_TOKEN });
    h = await Harness.start({
      db, targets: [{ id: 'apps', baseUrl: app.url, deprovision: 'disable' }], extraConfig: { hrSources: sourceDocs(api.url) },
      clients: [{ id: 'ops', token: 'hr-ops-token', scopes: ['admin:read'] }],
    });
  });

  afterAll(async () => {
    await h?.close();
    await app?.close();
    await api?.close();
  });

  /** A signed hire for a new employee of `kind`, its record served by the fake API for slim kinds. */
  function newHire(kind: HrKind, extra: Record<string, string | number> = {}) {
    const vars = person(`${kind.slice(0, 3)}${++n}${db[0]}`, extra);
    const rec = apiRecord(kind, vars);
    if (rec) api.set(rec.path, rec.record);
    return { vars, body: hireBody(kind, vars) };
  }

  describe.each(KINDS)('$kind', ({ kind, source }) => {
    it('accepts a valid signature, stores the raw event once and provisions the hire downstream (real HTTP)', async () => {
      const { vars, body } = newHire(kind);
      const before = await count(source);
      const r = await deliver(h.sb.url, source, kind, body);
      expect(r.status).toBe(202);
      expect(r.body.status).toBe('accepted');
      expect(await count(source)).toBe(before + 1);
      await waitFor(() => app.users().some(u => u.userName === vars.email), 20_000, `${kind} hire at the downstream app`);
      const remote = app.users().find(u => u.userName === vars.email)!;
      expect((remote.name as { givenName: string }).givenName).toBe(vars.firstName);
      expect(remote.title).toBe('Engineer');
      expect((remote[ENT] as { department: string }).department).toBe('R&D');
      const [ev] = await rows('SELECT status, employee_id, action FROM hr_event WHERE id = $1', [r.body.id]);
      expect(ev).toEqual({ status: 'applied', employee_id: vars.employeeId, action: 'hire' });
    });

    it('answers a redelivery 2xx and does nothing else', async () => {
      const { body } = newHire(kind);
      const first = await deliver(h.sb.url, source, kind, body);
      expect(first.status).toBe(202);
      const stored = await count(source);
      const outbox = await outboxCount();
      const again = await post(h.sb.url, source, first.headers, body);
      expect(again.status).toBe(200);
      expect(again.body.status).toBe('duplicate');
      expect(await count(source)).toBe(stored);
      expect(await outboxCount()).toBe(outbox);
    });

    it('refuses a tampered body and a wrong secret with 401, storing nothing', async () => {
      const { vars, body } = newHire(kind);
      const stored = await count(source);
      const tokenOnly = kind === 'rippling' || kind === 'personio';
      // Personio and Rippling document no signature over the body (a shared token only): tampering is TLS's job there.
      const tampered = tokenOnly ? null : await deliver(h.sb.url, source, kind, body, { sendBody: body.replace(String(vars.employeeId), 'E999999') });
      if (tampered) expect(tampered.status).toBe(401);
      const wrong = await deliver(h.sb.url, source, kind, body, { secret: 'not-the-secret' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.message).toMatch(/verification failed/);
      expect(JSON.stringify(wrong.body)).not.toContain('Engineer');
      expect(await count(source)).toBe(stored);
    });

    it('refuses a replayed delivery with an old timestamp', async () => {
      const old = Math.floor(Date.now() / 1000) - 3600;
      const { body } = newHire(kind, { timestamp: new Date(old * 1000).toISOString(), timestampSeconds: old });
      const stored = await count(source);
      const r = await deliver(h.sb.url, source, kind, body, { timestampSec: old });
      if (kind === 'rippling') {
        // No timestamp anywhere in a Rippling delivery: a replay is caught by the body-hash dedup instead.
        expect(r.status).toBe(202);
        expect((await post(h.sb.url, source, r.headers, body)).body.status).toBe('duplicate');
        return;
      }
      expect(r.status).toBe(401);
      expect(await count(source)).toBe(stored);
    });

    it('accepts either secret during a rotation', async () => {
      const a = newHire(kind);
      const b = newHire(kind);
      expect((await deliver(h.sb.url, source, kind, a.body, { secret: SECRETS[kind].current })).status).toBe(202);
      expect((await deliver(h.sb.url, source, kind, b.body, { secret: SECRETS[kind].previous })).status).toBe(202);
    });
  });

  it('stores bad payloads as rejected with the reason, answered 200 (no retry loop)', async () => {
    const bad = await deliver(h.sb.url, 'people', 'standard-webhooks', '{"type": "employee.hired", "data": ');
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ status: 'rejected', reason: 'unparsable JSON' });
    const unknown = await deliver(h.sb.url, 'people', 'standard-webhooks', JSON.stringify({ type: 'payroll.run', data: { employee: { id: 'E1' } } }));
    expect(unknown.body.reason).toMatch(/unknown event type/);
    const noId = await deliver(h.sb.url, 'people', 'standard-webhooks', JSON.stringify({ type: 'employee.updated', data: { employee: { firstName: 'x' } } }));
    expect(noId.body.reason).toBe('missing employee id');
    const stored = await rows("SELECT status, reason FROM hr_event WHERE source_id = 'people' AND status = 'rejected' ORDER BY received_at");
    expect(stored.map((r: { reason: string }) => r.reason)).toEqual(expect.arrayContaining(['unparsable JSON', 'missing employee id', expect.stringMatching(/unknown event type/)]));
    const [raw] = await rows('SELECT payload FROM hr_event WHERE id = $1', [bad.body.id]);
    expect(JSON.parse(raw.payload).raw).toBe('{"type": "employee.hired", "data": ');
    expect(Number((await rows('SELECT COUNT(*) AS n FROM change_event WHERE resource_id = $1', [bad.body.id]))[0].n)).toBe(0);

    // Operators see them through the admin API (admin:read), payload only per event.
    const admin = async (path: string, token = 'hr-ops-token') => {
      const res = await request(`${h.sb.url}/admin/hr${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.statusCode, body: await res.body.json() as any };
    };
    const list = await admin('/events?source=people&status=rejected');
    expect(list.status).toBe(200);
    expect(list.body.items.map((e: { reason: string }) => e.reason)).toEqual(expect.arrayContaining(['unparsable JSON', 'missing employee id']));
    expect(list.body.items[0].payload).toBeUndefined();
    const one = await admin(`/events/${bad.body.id}`);
    expect(one.body).toMatchObject({ status: 'rejected', reason: 'unparsable JSON', payload: { raw: '{"type": "employee.hired", "data": ' } });
    expect((await admin('/events', 'test-client-token')).status).toBe(403);
    expect((await admin('/events?status=bogus')).status).toBe(400);
  });

  it('splits a BambooHR batch into one event per employee and answers unknown sources 404', async () => {
    const a = person(`bb${db}a`);
    const b = person(`bb${db}b`);
    const one = JSON.parse(fixture('bamboohr', 'employee.created.json', a));
    one.employees.push(JSON.parse(fixture('bamboohr', 'employee.created.json', b)).employees[0]);
    const r = await deliver(h.sb.url, 'bamboo', 'bamboohr', JSON.stringify(one));
    expect(r.status).toBe(202);
    expect(r.body.events).toHaveLength(2);
    await waitFor(() => [a.email, b.email].every(e => app.users().some(u => u.userName === e)), 20_000, 'both BambooHR hires downstream');
    expect((await deliver(h.sb.url, 'nope', 'bamboohr', '{}')).status).toBe(404);
  });

  it('answers the vendor handshakes: HiBob ping and the Gusto verification token', async () => {
    const ping = await request(`${h.sb.url}/hr/webhooks/bob`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Ping test' });
    expect(ping.statusCode).toBe(200);
    await ping.body.text();
    const token = await request(`${h.sb.url}/hr/webhooks/gusto`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"verification_token":"6590f590-3dba-495e-9bea-c361e1e2efc0"}' });
    expect(token.statusCode).toBe(200);
    expect(await token.body.json()).toEqual({ status: 'verification-token-received' });
  });

  it('counts refused deliveries in Prometheus without logging bodies', async () => {
    const res = await request(`${h.sb.url}/metrics`);
    const text = await res.body.text();
    expect(text).toMatch(/switchboard_hr_webhook_verify_failures_total\{source="people",reason="bad-signature"\} [1-9]/);
    expect(text).toMatch(/switchboard_hr_webhook_verify_failures_total\{source="people",reason="stale-timestamp"\} [1-9]/);
  });
});
