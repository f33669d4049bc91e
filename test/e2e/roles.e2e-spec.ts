import { request } from 'undici';
import { buildAppConfig } from '../../src/config/app-config.js';
import { ConfigError } from '../../src/config/config.error.js';
import { loadEnv } from '../../src/config/env.js';
import { RunningSwitchboard, startSwitchboard } from '../../src/main.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { postgresDatabase, sqliteDatabase, storeKinds, TestDatabase } from '../utils/databases.js';
import { CLIENT_TOKEN, TARGET_TOKEN, waitFor } from '../utils/harness.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';

describe('process roles', () => {
  it.each(['api', 'worker'] as const)('should refuse role %s on SQLite with a clear message', async role => {
    const db = sqliteDatabase();
    const config = buildAppConfig({}, loadEnv({ DATABASE_URL: db.url }));
    await expect(startSwitchboard({ role, config, port: 0 })).rejects.toThrow(ConfigError);
    await expect(startSwitchboard({ role, config, port: 0 })).rejects.toThrow(/needs PostgreSQL/);
    await db.drop();
  });

  // Registered only where PostgreSQL answers (always in CI; see test/global-setup.ts).
  if (storeKinds().includes('postgres')) describe('api and worker as separate processes on PostgreSQL', () => {
    let db: TestDatabase;
    let app: DownstreamApp;
    const running: RunningSwitchboard[] = [];
    const prefix = `sbtest-roles-${process.pid}`;

    beforeAll(async () => {
      db = await postgresDatabase();
      app = await startScimmyApp({ token: TARGET_TOKEN });
    });

    afterAll(async () => {
      for (const r of running) await r.close();
      await app.close();
      await deletePrefix(SHARED_REDIS_URL, prefix);
      await db.drop();
    });

    it('should accept writes in the api and push them from the worker', async () => {
      process.env.SB_TEST_CLIENT_TOKEN = CLIENT_TOKEN;
      process.env.SB_TEST_TARGET_TOKEN = TARGET_TOKEN;
      const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
      const config = buildAppConfig({
        clients: [{ id: 'idp', tokenEnv: 'SB_TEST_CLIENT_TOKEN', scopes: ['scim:read', 'scim:write'] }],
        targets: [{ id: 'one', baseUrl: app.url, auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' } }],
        pipeline: { relayIntervalMs: 50 },
      }, env);
      const api = await startSwitchboard({ role: 'api', config, port: 0, host: '127.0.0.1' });
      running.push(api);
      const worker = await startSwitchboard({ role: 'worker', config, port: 0, host: '127.0.0.1' });
      running.push(worker);

      // The worker serves no SCIM; the api does.
      expect((await request(`${worker.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } })).statusCode).toBe(404);
      const res = await request(`${api.url}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'split@example.com' }),
      });
      expect(res.statusCode).toBe(201);
      await res.body.text();
      await waitFor(() => app.users().some(u => u.userName === 'split@example.com'), 15_000, 'the worker to push the user');
      const live = await request(`${worker.url}/health/live`);
      expect(live.statusCode).toBe(200);
      await live.body.text();
    });
  });
});
