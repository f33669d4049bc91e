import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { buildAppConfig } from '../../src/config/app-config.js';
import { loadEnv } from '../../src/config/env.js';
import { DbService } from '../../src/db/db.service.js';
import { RunningSwitchboard, startSwitchboard } from '../../src/main.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { QueueName } from '../../src/pipeline/queue-names.js';
import { CircuitService } from '../../src/targets/circuit.service.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { AuthGate, bearerFrom, headerEquals, OAuthServer, startAuthGate, startOAuthServer } from '../downstream/oauth-server.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { postgresDatabase, TestDatabase } from '../utils/databases.js';
import { CLIENT_TOKEN, Harness, sleep, TARGET_TOKEN, waitFor } from '../utils/harness.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';
import { startSwitchboardProcess, SwitchboardProcess } from '../utils/switchboard-process.js';

/**
 * Auth to targets (issue 4, "Target profiles and auth"), over real HTTP: strict SCIM apps behind a gate
 * that admits only tokens of a local OAuth 2.0 server (RFC 6749 §4.4), or only a custom API-key header.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CLIENT_ID = 'switchboard-e2e';
const SECRET = `oauth-s3cret-${randomBytes(6).toString('hex')}`;
const WRONG_SECRET = `wrong-s3cret-${randomBytes(6).toString('hex')}`;
const API_KEY = `api-key-${randomBytes(6).toString('hex')}`;

const userBody = (userName: string) => ({ schemas: [USER_URN], userName, active: true, name: { givenName: 'O', familyName: 'Auth' } });

/** A strict app that requires what `check` admits. */
interface Guarded { app: DownstreamApp; gate: AuthGate }

async function guarded(check: Parameters<typeof startAuthGate>[0]['check']): Promise<Guarded> {
  const app = await startStrictApp({ token: TARGET_TOKEN });
  const gate = await startAuthGate({ upstream: app.url, upstreamToken: TARGET_TOKEN, check });
  return { app, gate };
}

async function closeGuarded(g?: Guarded): Promise<void> {
  await g?.gate.close();
  await g?.app.close();
}

const quick = { timeoutMs: 3000, resourceTypes: ['User'], deprovision: 'disable', retry: { attempts: 3, backoffMs: 100, maxBackoffMs: 500 }, circuit: { failureThreshold: 5, probeIntervalMs: 300 } };

describe('target auth: OAuth 2.0 client credentials and custom header', () => {
  let oauth: OAuthServer;
  let good: Guarded;
  let bad: Guarded;
  let keyed: Guarded;
  let h: Harness;

  beforeAll(async () => {
    oauth = await startOAuthServer({ clientId: CLIENT_ID, clientSecret: SECRET, expiresIn: 3600 });
    good = await guarded(bearerFrom(oauth));
    bad = await guarded(bearerFrom(oauth));
    keyed = await guarded(headerEquals('x-api-key', API_KEY));
    process.env.SB_TEST_OAUTH_ID = CLIENT_ID;
    process.env.SB_TEST_OAUTH_SECRET = SECRET;
    process.env.SB_TEST_OAUTH_WRONG = WRONG_SECRET;
    process.env.SB_TEST_API_KEY = API_KEY;
    const oauthAuth = (secretEnv: string) => ({ type: 'oauth2-client-credentials', tokenUrl: oauth.tokenUrl, clientIdEnv: 'SB_TEST_OAUTH_ID', clientSecretEnv: secretEnv, scope: 'scim.users' });
    h = await Harness.start({
      targets: [
        { id: 'oauth-app', baseUrl: good.gate.url, auth: oauthAuth('SB_TEST_OAUTH_SECRET'), ...quick },
        { id: 'oauth-bad', baseUrl: bad.gate.url, auth: oauthAuth('SB_TEST_OAUTH_WRONG'), ...quick },
        { id: 'keyed-app', baseUrl: keyed.gate.url, auth: { type: 'header', headerName: 'X-Api-Key', valueEnv: 'SB_TEST_API_KEY' }, ...quick },
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    await Promise.all([closeGuarded(good), closeGuarded(bad), closeGuarded(keyed)]);
    await oauth?.close();
  });

  const issuedOk = () => oauth.tokenRequests.filter(r => r.status === 200);
  const create = async (userName: string) => {
    const r = await h.scim('POST', '/Users', userBody(userName));
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  it('should fetch one token and reuse it for every push (client_secret_basic, scope sent)', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `oa-${i}@example.com`);
    for (const n of names) await create(n);
    await waitFor(() => good.app.users().length === 10, 30_000, '10 users at the OAuth target');

    expect(good.app.users().map(u => u.userName).sort()).toEqual(names);
    expect(issuedOk()).toHaveLength(1);
    expect(issuedOk()[0]).toMatchObject({ clientAuth: 'client_secret_basic', grantType: 'client_credentials', scope: 'scim.users' });
    expect(new Set(good.gate.requests.map(r => r.token))).toEqual(new Set([oauth.issued[0]]));
    expect(good.gate.requests.filter(r => r.status === 401)).toHaveLength(0);
  });

  it('should send the custom header from its env var', async () => {
    await waitFor(() => keyed.app.users().length === 10, 30_000, '10 users at the API-key target');
    expect(keyed.gate.requests.length).toBeGreaterThanOrEqual(10);
    expect(keyed.gate.requests.every(r => r.status < 400 && r.token === undefined)).toBe(true);
  });

  it('should open the circuit when the token endpoint rejects the client secret, and recover once it is right', async () => {
    const circuits = h.get(CircuitService);
    await waitFor(async () => (await circuits.state('oauth-bad')).state !== 'closed', 15_000, 'circuit of oauth-bad to open');
    const open = await circuits.state('oauth-bad');
    expect(open).toMatchObject({ targetId: 'oauth-bad', failureThreshold: 5, probeIntervalMs: 300 });
    expect(['open', 'half-open']).toContain(open.state);
    expect(open.lastError).toMatch(/invalid_client/);
    expect(Date.parse(open.since!)).toBeGreaterThan(Date.now() - 60_000);
    // Nothing reached the app, nothing was dead-lettered: the jobs wait behind the paused queue.
    expect(bad.gate.requests).toHaveLength(0);
    expect(bad.app.users()).toHaveLength(0);
    expect(await h.get(JobQueueService).pushQueue('oauth-bad').isPaused()).toBe(true);
    const [{ n: failed }] = await h.get(DbService).manager.query("SELECT COUNT(*) AS n FROM target_link WHERE target_id = 'oauth-bad' AND status = 'failed'");
    expect(Number(failed)).toBe(0);
    const rejected = oauth.tokenRequests.filter(r => r.status === 401);
    expect(rejected.length).toBeGreaterThanOrEqual(1);

    // The operator fixes the secret: the next probe gets a token and the queue resumes by itself.
    process.env.SB_TEST_OAUTH_WRONG = SECRET;
    await waitFor(() => bad.app.users().length === 10, 30_000, '10 users at oauth-bad after recovery');
    const closed = await circuits.state('oauth-bad');
    expect(closed).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('should refresh once after a 401 and retry the request, without a failed push', async () => {
    const before = { requests: good.gate.requests.length, issued: oauth.issued.length };
    oauth.revokeAll();
    const id = await create('oa-revoked@example.com');
    await waitFor(() => good.app.users().some(u => u.userName === 'oa-revoked@example.com'), 15_000, 'user after revocation');

    const seen = good.gate.requests.slice(before.requests);
    const revoked = new Set(oauth.issued.slice(0, before.issued));
    const refused = seen.filter(r => r.status === 401);
    // Every request sent with the revoked token was refused once and retried with a new token; none was
    // refused twice (a concurrent push of another resource may have hit the revoked token too).
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every(r => revoked.has(r.token!))).toBe(true);
    for (const r of refused) {
      const retry = seen.find(x => x.startedAt >= r.endedAt && x.method === r.method && x.path === r.path);
      expect(retry).toMatchObject({ status: expect.any(Number) });
      expect(retry!.status).toBeLessThan(400);
      expect(revoked.has(retry!.token!)).toBe(false);
    }
    expect(seen.filter(r => r.status !== 401).every(r => r.status < 400 && !revoked.has(r.token!))).toBe(true);
    const pushLog = () => h.get(DbService).manager.query("SELECT ok FROM push_log WHERE target_id = 'oauth-app' AND resource_id = ?", [id]);
    // The log row is written after the POST returns.
    await waitFor(async () => (await pushLog()).length > 0, 10_000, 'the push_log row');
    const log = await pushLog();
    expect(log.every((r: { ok: number | boolean }) => !!r.ok)).toBe(true);
  });

  it('should refresh a short-lived token before it expires (no 401)', async () => {
    oauth.setExpiresIn(2);
    oauth.revokeAll();
    await create('oa-short-1@example.com');
    await waitFor(() => good.app.users().some(u => u.userName === 'oa-short-1@example.com'), 15_000, 'first user with a 2 s token');
    const shortToken = oauth.issued[oauth.issued.length - 1];
    const tokensBefore = issuedOk().length;
    // Past 1.8 s (2 s minus 10 %), before the server would refuse it at 2 s.
    await sleep(1900);
    const mark = good.gate.requests.length;
    await create('oa-short-2@example.com');
    await waitFor(() => good.app.users().some(u => u.userName === 'oa-short-2@example.com'), 15_000, 'second user after refresh');

    const seen = good.gate.requests.slice(mark);
    expect(seen.every(r => r.status < 400)).toBe(true);
    expect(seen.every(r => r.token !== shortToken)).toBe(true);
    expect(issuedOk().length).toBeGreaterThan(tokensBefore);
    oauth.setExpiresIn(3600);
  });

  it('should keep secrets and tokens out of push_log and dead letters', async () => {
    const rows: Array<{ error: string | null }> = await h.get(DbService).manager.query('SELECT error FROM push_log');
    const dead = await h.get(JobQueueService).queue(QueueName.DeadLetter).getJobs(['waiting', 'completed', 'failed', 'delayed', 'prioritized']);
    const text = JSON.stringify([rows, dead.map(j => j.data)]);
    for (const s of [SECRET, WRONG_SECRET, API_KEY, ...oauth.issued]) expect(text).not.toContain(s);
  });
});

const pg = process.env.SB_TEST_POSTGRES === '0' ? describe.skip : describe;

pg('target auth: secrets never reach the logs of a worker process', () => {
  const prefix = `sbtest-${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let oauth: OAuthServer;
  let good: Guarded;
  let bad: Guarded;
  let api: RunningSwitchboard;
  let worker: SwitchboardProcess | undefined;

  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await Promise.all([closeGuarded(good), closeGuarded(bad)]);
    await oauth?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix).catch(() => undefined);
    await db?.drop();
  }, 60_000);

  it('should log the failures (debug level) without any secret, token or Basic credential', async () => {
    db = await postgresDatabase();
    oauth = await startOAuthServer({ clientId: CLIENT_ID, clientSecret: SECRET, expiresIn: 3600 });
    good = await guarded(bearerFrom(oauth));
    bad = await guarded(bearerFrom(oauth));
    const oauthAuth = (secretEnv: string, clientAuth: string) => ({ type: 'oauth2-client-credentials', tokenUrl: oauth.tokenUrl, clientIdEnv: 'SB_TEST_OAUTH_ID', clientSecretEnv: secretEnv, clientAuth });
    const doc = {
      clients: [{ id: 'idp', tokenEnv: 'SB_TEST_CLIENT_TOKEN', scopes: ['scim:read', 'scim:write'] }],
      targets: [
        { id: 'oauth-app', baseUrl: good.gate.url, auth: oauthAuth('SB_TEST_OAUTH_SECRET', 'client_secret_post'), ...quick },
        { id: 'oauth-bad', baseUrl: bad.gate.url, auth: oauthAuth('SB_TEST_OAUTH_WRONG', 'client_secret_basic'), ...quick },
      ],
      pipeline: { relayIntervalMs: 50, sweepIntervalMs: 3_600_000 },
    };
    const env = { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, QUEUE_PREFIX: prefix };
    process.env.SB_TEST_CLIENT_TOKEN = CLIENT_TOKEN;
    api = await startSwitchboard({ role: 'api', port: 0, host: '127.0.0.1', config: buildAppConfig(doc, loadEnv({ ...env, LOG_LEVEL: 'silent', PORT: '0' })) });
    worker = await startSwitchboardProcess('worker', doc, {
      ...env, LOG_LEVEL: 'debug', SB_TEST_CLIENT_TOKEN: CLIENT_TOKEN, SB_TEST_OAUTH_ID: CLIENT_ID, SB_TEST_OAUTH_SECRET: SECRET, SB_TEST_OAUTH_WRONG: WRONG_SECRET,
    });

    for (const n of ['log-1', 'log-2', 'log-3']) {
      const r = await fetch(`${api.url}/scim/v2/Users`, {
        method: 'POST', headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(userBody(`${n}@example.com`)),
      });
      expect(r.status).toBe(201);
    }
    await waitFor(() => good.app.users().length === 3, 60_000, '3 users at oauth-app');
    await waitFor(() => /Circuit open for target oauth-bad/.test(worker!.output()), 30_000, 'the circuit log line');
    // Another process (this one, no worker in it) reads the circuit the worker opened, from Redis.
    const redis = new Redis(SHARED_REDIS_URL);
    const state = await redis.hgetall(`${prefix}:circuit:oauth-bad`);
    redis.disconnect();
    expect(['open', 'half-open']).toContain(state.state);
    expect(state.lastError).toMatch(/invalid_client/);
    await sleep(1000); // a few probes more, each refused by the token endpoint
    await worker.stop();
    const out = worker.output();

    expect(out).toMatch(/invalid_client/);
    expect(oauth.tokenRequests.some(r => r.clientAuth === 'client_secret_post' && r.status === 200)).toBe(true);
    const basic = (secret: string) => Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64');
    for (const s of [SECRET, WRONG_SECRET, basic(SECRET), basic(WRONG_SECRET), ...oauth.issued]) expect(out).not.toContain(s);
    expect(oauth.issued.length).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
