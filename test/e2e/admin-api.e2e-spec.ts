import { request } from 'undici';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { buildAppConfig } from '../../src/config/app-config.js';
import { loadEnv } from '../../src/config/env.js';
import { DbService } from '../../src/db/db.service.js';
import { startSwitchboard } from '../../src/main.js';
import { postgresDatabase, storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';

const RW = 'admin-rw-token';
const RO = 'admin-ro-token';
const SCIM_ONLY = 'test-client-token';
const PROBLEM = 'application/problem+json';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type Reply = { status: number; body: any; type: string; headers: Record<string, unknown>; text: string };

describe('admin API (real HTTP)', () => {
  let app: DownstreamApp;
  let guarded: DownstreamApp;
  let h: Harness;
  const ids: string[] = [];

  /** One call to /admin with a bearer token (none when token is undefined). */
  const admin = async (method: string, path: string, token: string | undefined, body?: unknown, contentType = 'application/json'): Promise<Reply> => {
    const res = await request(`${h.sb.url}${path}`, {
      method: method as 'GET',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    const type = String(res.headers['content-type'] ?? '');
    return { status: res.statusCode, type, headers: res.headers, text, body: text && /json/.test(type) ? JSON.parse(text) : text };
  };

  /** Asserts the RFC 9457 shape and returns the problem. */
  const expectProblem = (r: Reply, status: number) => {
    expect(r.status).toBe(status);
    expect(r.type).toContain(PROBLEM);
    expect(r.body).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status }));
    expect(r.body.schemas).toBeUndefined();
    return r.body as { type: string; title: string; status: number; detail?: string; instance?: string; errors?: Array<{ pointer: string; detail: string }> };
  };

  beforeAll(async () => {
    app = await startScimmyApp({ token: TARGET_TOKEN });
    guarded = await startScimmyApp({ token: TARGET_TOKEN });
    h = await Harness.start({
      clients: [
        { id: 'ops-console', token: RW, scopes: ['admin:read', 'admin:write'] },
        { id: 'dashboard', token: RO, scopes: ['admin:read'] },
      ],
      targets: [
        { id: 'lenient', baseUrl: app.url, deprovision: 'disable', mappings: [{ target: 'title', source: `${ENT}:department`, default: 'Staff' }] },
        // One deprovision per window, then quarantine (the percentage rule off).
        { id: 'guarded', baseUrl: guarded.url, resourceTypes: ['User'], deprovision: 'disable', deletionGuard: { maxDeprovisions: 1, minLinkedForPercent: 1000 } },
      ],
    });
    for (let i = 0; i < 5; i++) {
      const r = await h.scim('POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `admin${i}@example.com`, name: { givenName: `A${i}`, familyName: 'Admin' }, active: true,
        [ENT]: { department: i ? 'R&D' : undefined },
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    await h.drain();
  });

  afterAll(async () => {
    await h?.close();
    await app?.close();
    await guarded?.close();
  });

  const deactivate = (id: string) => h.scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
  const remoteActive = (a: DownstreamApp, i: number) => a.users().find(u => u.userName === `admin${i}@example.com`)?.active;
  const guardedState = async () => (await admin('GET', '/admin/targets', RO)).body.targets.find((t: { id: string }) => t.id === 'guarded');

  describe('auth and scopes', () => {
    it('should answer 401 problem details with a Bearer challenge when no or a wrong token is sent', async () => {
      for (const token of [undefined, 'not-a-token']) {
        const r = await admin('GET', '/admin/targets', token);
        const p = expectProblem(r, 401);
        expect(p).toMatchObject({ type: 'about:blank', title: 'Unauthorized', instance: '/admin/targets' });
        expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer /);
      }
    });

    it('should refuse a SCIM-only token on /admin with 403 and an admin-only token on /scim with a SCIM 403', async () => {
      const p = expectProblem(await admin('GET', '/admin/targets', SCIM_ONLY), 403);
      expect(p.detail).toContain('admin:read');
      const scim = await h.scim('GET', '/Users', undefined, { authorization: `Bearer ${RW}` });
      expect(scim.status).toBe(403);
      expect(scim.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(scim.body.status).toBe('403');
    });

    it('should let a read token read but not resync (403 admin:write)', async () => {
      expect((await admin('GET', '/admin/targets', RO)).status).toBe(200);
      const p = expectProblem(await admin('POST', '/admin/targets/lenient/resync', RO, { mode: 'live' }), 403);
      expect(p.detail).toContain('admin:write');
    });
  });

  describe('OpenAPI document', () => {
    it('should serve a valid OpenAPI 3 document of the admin routes only, with the bearer scheme on every operation', async () => {
      const r = await request(`${h.sb.url}/admin/openapi.json`);
      expect(r.statusCode).toBe(200);
      const doc = (await r.body.json()) as any;
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.info).toEqual(expect.objectContaining({ title: 'Switchboard admin API', version: expect.any(String) }));
      expect(Object.keys(doc.paths).sort()).toEqual([
        '/admin/targets', '/admin/targets/{id}', '/admin/targets/{id}/mappings', '/admin/targets/{id}/preview', '/admin/targets/{id}/resync',
        '/admin/hr/events', '/admin/hr/events/{id}', '/admin/hr/scheduled-changes',
      ].concat(Object.keys(doc.paths).filter((p: string) => /quarantine|provision/.test(p))).sort());
      expect(Object.keys(doc.paths).every(p => p.startsWith('/admin/'))).toBe(true);
      expect(doc.components.securitySchemes.adminToken).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
      const methods = ['get', 'put', 'post', 'delete', 'patch'];
      const operationIds = new Set<string>();
      for (const [path, item] of Object.entries<any>(doc.paths)) {
        for (const m of methods.filter(x => item[x])) {
          const op = item[m];
          expect({ path, m, security: op.security }).toEqual({ path, m, security: [{ adminToken: [] }] });
          expect(operationIds.has(op.operationId)).toBe(false);
          operationIds.add(op.operationId);
          expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
          expect(op.responses['401'].content[PROBLEM].schema.$ref).toBe('#/components/schemas/ProblemDto');
          // Path parameters are declared (OpenAPI 3.0 §4.7.12: required, in: path).
          for (const name of [...path.matchAll(/\{(\w+)\}/g)].map(x => x[1])) {
            expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name, in: 'path', required: true })]));
          }
        }
      }
      // Every $ref resolves inside the document.
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map(x => x[1]);
      expect(refs.length).toBeGreaterThan(5);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\//);
        expect(doc.components.schemas[ref.split('/').pop()!]).toBeDefined();
      }
      expect(doc.paths['/admin/targets/{id}/resync'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ResyncRequestDto');
      expect(doc.components.schemas.ResyncRequestDto.properties.mode.enum).toEqual(['live', 'force', 'readBack']);
      expect(Object.keys(doc.paths['/admin/targets/{id}/preview'].post.requestBody.content).sort()).toEqual(['application/json', 'application/yaml']);
    });
  });

  describe('problem details on bad input', () => {
    it('should list every validation problem of a body in errors[]', async () => {
      const p = expectProblem(await admin('POST', '/admin/targets/lenient/resync', RW, { mode: 'sometimes', resourceType: 'Printer', extra: 1 }), 400);
      expect(p.type).toBe('urn:switchboard:problem:validation');
      expect(p.instance).toBe('/admin/targets/lenient/resync');
      expect(p.errors!.map(e => e.pointer).sort()).toEqual(['/extra', '/mode', '/resourceType']);
    });

    it('should answer malformed JSON, an unknown target and an unknown admin route with problem details', async () => {
      const bad = expectProblem(await admin('POST', '/admin/targets/lenient/resync', RW, '{"mode": '), 400);
      expect(bad.detail).toBe('Request body is not valid JSON');
      const unknown = expectProblem(await admin('GET', '/admin/targets/nope', RW), 404);
      expect(unknown).toMatchObject({ type: 'urn:switchboard:problem:unknown-target', detail: 'No target "nope" is configured', instance: '/admin/targets/nope' });
      expectProblem(await admin('GET', '/admin/nothing-here', RW), 404);
      // SCIM routes keep SCIM errors.
      const scim = await h.scim('POST', '/Users', '{"userName": ');
      expect(scim.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    });
  });

  describe('targets', () => {
    it('should list targets with queue counts, pause, circuit and link counts', async () => {
      const r = await admin('GET', '/admin/targets', RO);
      expect(r.status).toBe(200);
      expect(r.body.targets.map((t: { id: string }) => t.id)).toEqual(['lenient', 'guarded']);
      const t = r.body.targets[0];
      expect(t).toMatchObject({
        id: 'lenient', baseUrl: app.url, resourceTypes: ['User', 'Group'], paused: false,
        circuit: { state: 'closed', failures: 0, failureThreshold: 5, probeIntervalMs: 5000 },
        queue: { waiting: 0, active: 0, delayed: 0, prioritized: 0, failed: 0 }, links: { synced: 5 },
        quarantine: { state: 'none', since: null, windowCount: 0, held: 0, limits: expect.objectContaining({ maxDeprovisions: 50, maxPercent: 10 }) },
      });
    });

    it('should show the resolved config with env var names and never a secret value', async () => {
      const r = await admin('GET', '/admin/targets/lenient', RO);
      expect(r.status).toBe(200);
      expect(r.body.config).toMatchObject({
        id: 'lenient', baseUrl: app.url, auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' },
        deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'disable' },
        circuit: { failureThreshold: 5, probeIntervalMs: 5000 }, retry: { attempts: 8 },
      });
      expect(r.body.links).toEqual({ synced: 5 });
      expect(r.body.config.deletionGuard).toMatchObject({ maxDeprovisions: 50, maxPercent: 10, windowMinutes: 60 });
      expect(r.text).not.toContain(TARGET_TOKEN);
    });

    it('should return the mappings in order', async () => {
      const r = await admin('GET', '/admin/targets/lenient/mappings', RO);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ targetId: 'lenient', passThrough: 'core', mappings: [expect.objectContaining({ target: 'title', source: `${ENT}:department`, default: 'Staff' })] });
    });

    it('should resync every linked resource through the per-resource key and record who asked in the correlation id', async () => {
      const r = await admin('POST', '/admin/targets/lenient/resync', RW, { mode: 'force', resourceType: 'User' });
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ enqueued: 5, mode: 'force', resourceTypes: ['User'], runId: expect.stringMatching(/^rs[a-z0-9]+$/) });
      await h.drain();
      const rows: Array<{ action: string; ok: boolean | number }> = await h.get(DbService).manager.query(
        'SELECT action, ok FROM push_log WHERE correlation_id = ?', [`resync-${r.body.runId}`],
      );
      // force: every user is sent again although its hash is unchanged.
      expect(rows.length).toBe(5);
      expect(rows.every(x => x.action === 'update' && !!x.ok)).toBe(true);
    });
  });

  describe('provision on demand', () => {
    it('should push one user now and return each step of the push', async () => {
      const r = await admin('POST', `/admin/targets/lenient/provision/User/${ids[1]}?mode=force`, RW);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ targetId: 'lenient', resourceType: 'User', resourceId: ids[1], mode: 'force', outcome: 'updated', jobId: expect.any(String) });
      const kinds = r.body.steps.map((s: { kind: string }) => s.kind);
      expect(kinds).toEqual(expect.arrayContaining(['scope', 'map', 'diff', 'http']));
      const map = r.body.steps.find((s: { kind: string }) => s.kind === 'map');
      expect(map.payload).toMatchObject({ userName: 'admin1@example.com', title: 'R&D', active: true });
      const http = r.body.steps.filter((s: { kind: string }) => s.kind === 'http').map((s: { call: { method: string; status: number } }) => `${s.call.method} ${s.call.status}`);
      expect(http).toEqual([expect.stringMatching(/^PATCH 20[04]$/)]);
      // live with nothing changed: no HTTP call at all.
      const again = await admin('POST', `/admin/targets/lenient/provision/User/${ids[1]}`, RW);
      expect(again.status).toBe(200);
      expect(again.body.outcome).toBe('unchanged');
      expect(again.body.steps.filter((s: { kind: string }) => s.kind === 'http')).toEqual([]);
    });

    it('should refuse an unknown resource, a bad type and a read token', async () => {
      expect(expectProblem(await admin('POST', '/admin/targets/lenient/provision/User/00000000-0000-4000-8000-000000000000', RW), 404).type).toBe('urn:switchboard:problem:unknown-resource');
      expect(expectProblem(await admin('POST', `/admin/targets/lenient/provision/Printer/${ids[1]}`, RW), 400).errors![0].pointer).toBe('/resourceType');
      expect(expectProblem(await admin('POST', `/admin/targets/guarded/provision/Group/${ids[1]}`, RW), 400).errors![0].detail).toContain('does not take Group');
      expect(expectProblem(await admin('POST', `/admin/targets/lenient/provision/User/${ids[1]}?mode=sideways`, RW), 400).errors![0].pointer).toBe('/mode');
      expectProblem(await admin('POST', `/admin/targets/lenient/provision/User/${ids[1]}`, RO), 403);
    });
  });

  describe('mass-deletion quarantine through the API', () => {
    it('should answer 409 when the target is not quarantined', async () => {
      const p = expectProblem(await admin('POST', '/admin/targets/guarded/quarantine/approve', RW), 409);
      expect(p.type).toBe('urn:switchboard:problem:not-quarantined');
      expectProblem(await admin('POST', '/admin/targets/guarded/quarantine/reject', RO), 403);
    });

    it('should show a quarantine, reject the held disable, then approve the next one', async () => {
      // Two deactivations: the first disable proceeds, the second trips the guard (limit 1).
      await deactivate(ids[0]);
      await deactivate(ids[1]);
      await waitFor(async () => (await guardedState()).quarantine.state === 'quarantined', 15_000, 'quarantine');
      let t = await guardedState();
      expect(t).toMatchObject({ paused: true, quarantine: { state: 'quarantined', reason: expect.stringContaining('more than 1 deprovisions'), held: 1 } });
      expect([remoteActive(guarded, 0), remoteActive(guarded, 1)].filter(a => a === false)).toHaveLength(1);
      const heldIndex = remoteActive(guarded, 0) === false ? 1 : 0;

      const rejected = await admin('POST', '/admin/targets/guarded/quarantine/reject', RW);
      expect(rejected.status).toBe(200);
      expect(rejected.body).toMatchObject({ targetId: 'guarded', decision: 'rejected', by: 'ops-console', result: { quarantined: false } });
      await h.drain();
      expect(remoteActive(guarded, heldIndex)).toBe(true); // the rejected disable never reached the app
      expect((await guardedState()).paused).toBe(false);

      await deactivate(ids[2]);
      await deactivate(ids[3]);
      await waitFor(async () => (await guardedState()).quarantine.state === 'quarantined', 15_000, 'second quarantine');
      const approved = await admin('POST', '/admin/targets/guarded/quarantine/approve', RW);
      expect(approved.body).toMatchObject({ decision: 'approved', by: 'ops-console', result: { quarantined: false } });
      await h.drain();
      expect([remoteActive(guarded, 2), remoteActive(guarded, 3)]).toEqual([false, false]);
      t = await guardedState();
      expect(t).toMatchObject({ paused: false, quarantine: { state: 'none' } });
      // The other target has the default guard: all four disables went through.
      expect([0, 1, 2, 3].map(i => remoteActive(app, i))).toEqual([false, false, false, false]);
    });
  });

  // The api role runs no worker: the admin API uses its own producer-side services (queues, circuit, guard).
  if (storeKinds().includes('postgres')) it('should serve the admin API from an api-only process on PostgreSQL', async () => {
    const db = await postgresDatabase();
    const prefix = `sbtest-admin-api-${process.pid}`;
    process.env.SB_TEST_ADMIN_API_TOKEN = RW;
    const config = buildAppConfig({
      clients: [{ id: 'ops', tokenEnv: 'SB_TEST_ADMIN_API_TOKEN', scopes: ['admin:read', 'admin:write'] }],
      targets: [{ id: 'one', baseUrl: app.url, auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' } }],
    }, loadEnv({ DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }));
    const api = await startSwitchboard({ role: 'api', config, port: 0, host: '127.0.0.1' });
    try {
      const get = async (path: string, method = 'GET', body?: unknown) => {
        const res = await request(`${api.url}${path}`, { method: method as 'GET', headers: { authorization: `Bearer ${RW}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.statusCode, body: (await res.body.json()) as any };
      };
      const list = await get('/admin/targets');
      expect(list.status).toBe(200);
      expect(list.body.targets[0]).toMatchObject({ id: 'one', paused: false, circuit: { state: 'closed' }, quarantine: { state: 'none' }, links: {} });
      expect(await get('/admin/targets/one/resync', 'POST', { mode: 'live' })).toMatchObject({ status: 202, body: { enqueued: 0 } });
      expect((await get('/admin/openapi.json')).body.paths['/admin/targets']).toBeDefined();
    } finally {
      await api.close();
      await deletePrefix(SHARED_REDIS_URL, prefix);
      await db.drop();
    }
  });
});
