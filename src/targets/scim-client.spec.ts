import 'reflect-metadata';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { errors } from 'undici';
import type { TargetConfig } from '../config/app-config.js';
import { PATCH_OP_SCHEMA } from '../scim/scim.constants.js';
import type { TargetAuth } from './auth/target-auth.js';
import { RateBudgetExhaustedError } from './rate-budget.js';
import { classifyNetworkError, classifyResponse, parseRetryAfter, ScimClient } from './scim-client.js';
import { TargetError, TargetErrorKind } from './target.error.js';

type Recorded = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const TOKEN = 'tok-s3cret-value';
const env = { APP_TOKEN: TOKEN, APP_USER: 'svc', APP_PASS: 'p@ss:word' };

function targetConfig(baseUrl: string, overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    id: 'app',
    baseUrl,
    auth: { type: 'bearer', tokenEnv: 'APP_TOKEN' },
    resourceTypes: ['User', 'Group'],
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' },
    passThrough: 'core',
    mappings: [],
    timeoutMs: 2000,
    concurrency: 2,
    retry: { attempts: 3, backoffMs: 100, maxBackoffMs: 1000 },
    circuit: { failureThreshold: 5, probeIntervalMs: 1000 },
    ...overrides,
  } as TargetConfig;
}

function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/scim+json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function scimError(status: number, scimType?: string, detail = 'nope'): unknown {
  return { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), scimType, detail };
}

async function rejection(p: Promise<unknown>): Promise<TargetError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TargetError);
  return err as TargetError;
}

describe(ScimClient.name, () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  let requests: Recorded[];
  let stalled: ServerResponse[];
  let client: ScimClient | undefined;

  const newClient = (overrides: Partial<TargetConfig> = {}, e: NodeJS.ProcessEnv = env) =>
    (client = new ScimClient(targetConfig(baseUrl, overrides), e));

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', c => chunks.push(c as Buffer));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        handler(req, res);
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
  });

  beforeEach(() => {
    requests = [];
    stalled = [];
    handler = (_req, res) => json(res, 200, {});
  });

  afterEach(async () => {
    for (const res of stalled) res.destroy();
    await client?.close();
    client = undefined;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
  });

  describe('requests', () => {
    it('should send the bearer token, SCIM media types and the JSON body when creating', async () => {
      handler = (_req, res) => json(res, 201, { id: 'r-1', userName: 'jdoe', meta: { version: 'W/"1"' } });
      const res = await newClient().create('User', { userName: 'jdoe' });

      expect(requests).toHaveLength(1);
      const [req] = requests;
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/scim/v2/Users');
      expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(req.headers['content-type']).toBe('application/scim+json');
      expect(req.headers.accept).toBe('application/scim+json, application/json');
      expect(JSON.parse(req.body)).toEqual({ userName: 'jdoe' });
      expect(res).toEqual({ status: 201, body: { id: 'r-1', userName: 'jdoe', meta: { version: 'W/"1"' } }, etag: 'W/"1"', durationMs: expect.any(Number) });
    });

    it('should send basic credentials when auth is basic', async () => {
      await newClient({ auth: { type: 'basic', usernameEnv: 'APP_USER', passwordEnv: 'APP_PASS' } }).get('User', 'r-1');
      expect(requests[0].headers.authorization).toBe(`Basic ${Buffer.from('svc:p@ss:word').toString('base64')}`);
    });

    it('should send no authorization header when auth is none', async () => {
      await newClient({ auth: { type: 'none' } }).get('Group', 'g-1');
      expect(requests[0].headers.authorization).toBeUndefined();
      expect(requests[0].url).toBe('/scim/v2/Groups/g-1');
    });

    it('should fail as target-down without calling the target when the token env var is empty', async () => {
      const err = await rejection(newClient({}, {}).get('User', 'r-1'));
      expect(err.kind).toBe(TargetErrorKind.TargetDown);
      expect(err.message).toContain('APP_TOKEN');
      expect(requests).toHaveLength(0);
    });

    it('should send a custom header from its env var when auth is header', async () => {
      await newClient({ auth: { type: 'header', headerName: 'X-API-Key', valueEnv: 'APP_TOKEN' } }).get('User', 'r-1');
      expect(requests[0].headers['x-api-key']).toBe(TOKEN);
      expect(requests[0].headers.authorization).toBeUndefined();
    });

    it('should fail as target-down without calling the target when the header env var is empty', async () => {
      const err = await rejection(newClient({ auth: { type: 'header', headerName: 'X-API-Key', valueEnv: 'NOPE' } }).get('User', 'r-1'));
      expect([err.kind, requests.length]).toEqual([TargetErrorKind.TargetDown, 0]);
      expect(err.message).toContain('NOPE');
    });

    describe('with refreshable credentials (OAuth 2.0)', () => {
      /** A TargetAuth that hands out tok-1, tok-2, … and records what was refused. */
      const rotating = () => {
        let n = 1;
        const refused: string[] = [];
        const auth: TargetAuth = {
          headers: async () => ({ authorization: `Bearer tok-${n}` }),
          rejected: sent => { refused.push(sent.authorization); n += 1; return true; },
          close: async () => undefined,
        };
        return { auth, refused };
      };

      it('should refresh once after a 401 and retry the request with the new token', async () => {
        handler = (req, res) => (req.headers.authorization === 'Bearer tok-2' ? json(res, 200, { id: 'r-1' }) : json(res, 401, scimError(401)));
        const { auth, refused } = rotating();
        client = new ScimClient(targetConfig(baseUrl), env, { auth });
        const res = await client.get('User', 'r-1');
        expect(res.body).toEqual({ id: 'r-1' });
        expect(requests.map(r => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
        expect(refused).toEqual(['Bearer tok-1']);
      });

      it('should fail as target-down when the retried request is refused too', async () => {
        handler = (_req, res) => json(res, 401, scimError(401));
        client = new ScimClient(targetConfig(baseUrl), env, rotating());
        const err = await rejection(client.create('User', { userName: 'x' }));
        expect([err.kind, err.status, requests.length]).toEqual([TargetErrorKind.TargetDown, 401, 2]);
      });

      it('should not retry a 401 with static credentials', async () => {
        handler = (_req, res) => json(res, 401, scimError(401));
        const err = await rejection(newClient().get('User', 'r-1'));
        expect([err.kind, requests.length]).toEqual([TargetErrorKind.TargetDown, 1]);
      });
    });

    describe('rate budget', () => {
      it('should take one unit of budget before every HTTP request, retries included', async () => {
        let taken = 0;
        let calls = 0;
        handler = (_req, res) => (++calls === 1 ? json(res, 401, scimError(401)) : json(res, 200, { id: 'r-1' }));
        const auth: TargetAuth = { headers: async () => ({ authorization: 'Bearer t' }), rejected: () => true, close: async () => undefined };
        client = new ScimClient(targetConfig(baseUrl), env, { auth, budget: { acquire: async () => void (taken += 1) } });
        await client.get('User', 'r-1');
        await client.findOne('User', 'userName eq "a"');
        expect([taken, requests.length]).toEqual([3, 3]);
      });

      it('should pass RateBudgetExhaustedError through unclassified and send nothing', async () => {
        const budget = { acquire: () => Promise.reject(new RateBudgetExhaustedError('app', 4000)) };
        client = new ScimClient(targetConfig(baseUrl), env, { budget });
        const err = await client.get('User', 'r-1').then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(RateBudgetExhaustedError);
        expect((err as RateBudgetExhaustedError).retryAfterMs).toBe(4000);
        expect(requests).toHaveLength(0);
      });
    });

    it('should prefer the ETag header and omit a body when the target answers 204', async () => {
      handler = (_req, res) => { res.writeHead(204, { etag: 'W/"7"' }); res.end(); };
      const res = await newClient().patch('User', 'r 1/x', [{ op: 'replace', path: 'title', value: 'Boss' }], { ifMatch: 'W/"6"' });

      expect(res).toEqual({ status: 204, body: undefined, etag: 'W/"7"', durationMs: expect.any(Number) });
      expect(requests[0]).toMatchObject({ method: 'PATCH', url: '/scim/v2/Users/r%201%2Fx' });
      expect(requests[0].headers['if-match']).toBe('W/"6"');
      expect(JSON.parse(requests[0].body)).toEqual({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'title', value: 'Boss' }] });
    });

    it('should PUT the whole resource when replacing', async () => {
      handler = (_req, res) => json(res, 200, { id: 'r-1', userName: 'jdoe' });
      await newClient().replace('User', 'r-1', { userName: 'jdoe', active: false });
      expect(requests[0]).toMatchObject({ method: 'PUT', url: '/scim/v2/Users/r-1' });
      expect(JSON.parse(requests[0].body)).toEqual({ userName: 'jdoe', active: false });
    });

    it('should send an encoded filter with count=2 and return the Resources when finding one', async () => {
      handler = (_req, res) => json(res, 200, { totalResults: 1, Resources: [{ id: 'r-9', userName: 'jdoe' }] });
      const res = await newClient().findOne('User', 'userName eq "j doe&x"');

      const url = new URL(requests[0].url, 'http://x');
      expect(url.pathname).toBe('/scim/v2/Users');
      expect(url.searchParams.get('filter')).toBe('userName eq "j doe&x"');
      expect(url.searchParams.get('count')).toBe('2');
      expect(res.body).toEqual([{ id: 'r-9', userName: 'jdoe' }]);
    });

    it('should return no resources when the list response has no Resources', async () => {
      handler = (_req, res) => json(res, 200, { totalResults: 0 });
      await expect(newClient().findOne('Group', 'displayName eq "x"')).resolves.toMatchObject({ status: 200, body: [] });
    });

    it('should read the service provider config', async () => {
      handler = (_req, res) => json(res, 200, { patch: { supported: true } });
      await expect(newClient().serviceProviderConfig()).resolves.toMatchObject({ status: 200, body: { patch: { supported: true } } });
      expect(requests[0].url).toBe('/scim/v2/ServiceProviderConfig');
    });

    it('should reuse one keep-alive connection for sequential calls', async () => {
      const c = newClient();
      await c.get('User', 'a');
      await c.get('User', 'b');
      expect(requests.map(r => r.headers.connection)).toEqual(['keep-alive', 'keep-alive']);
    });
  });

  describe('404 as an outcome', () => {
    beforeEach(() => { handler = (_req, res) => json(res, 404, scimError(404)); });

    it.each([
      ['get', (c: ScimClient) => c.get('User', 'gone')],
      ['replace', (c: ScimClient) => c.replace('User', 'gone', { userName: 'x' })],
      ['patch', (c: ScimClient) => c.patch('Group', 'gone', [{ op: 'remove', path: 'members' }])],
      ['delete', (c: ScimClient) => c.delete('User', 'gone')],
    ])('should return status 404 instead of throwing when %s finds nothing', async (_name, call) => {
      await expect(call(newClient())).resolves.toEqual({ status: 404, body: undefined, durationMs: expect.any(Number) });
    });

    it('should throw permanent when create gets 404', async () => {
      const err = await rejection(newClient().create('User', { userName: 'x' }));
      expect(err).toMatchObject({ kind: TargetErrorKind.Permanent, status: 404 });
    });
  });

  describe('classification of HTTP answers', () => {
    it.each([
      [409, 'uniqueness', TargetErrorKind.Permanent],
      [400, 'invalidValue', TargetErrorKind.Permanent],
      [412, undefined, TargetErrorKind.Permanent],
      [401, undefined, TargetErrorKind.TargetDown],
      [403, undefined, TargetErrorKind.TargetDown],
      [408, undefined, TargetErrorKind.Retryable],
      [500, undefined, TargetErrorKind.Retryable],
      [502, undefined, TargetErrorKind.Retryable],
    ])('should throw for status %i (%s) as %s', async (status, scimType, kind) => {
      handler = (_req, res) => json(res, status, scimError(status, scimType, `detail for ${status}`));
      const err = await rejection(newClient().create('User', { userName: 'jdoe', password: 'hunter2' }));

      expect(err).toMatchObject({ kind, status, scimType, detail: `detail for ${status}`, retryAfterMs: undefined });
      expect(err.durationMs).toEqual(expect.any(Number));
      expect(err.message).not.toContain(TOKEN);
      expect(err.message).not.toContain('hunter2');
    });

    it('should throw throttled with Retry-After in seconds', async () => {
      handler = (_req, res) => json(res, 429, scimError(429), { 'retry-after': '7' });
      await expect(newClient().get('User', 'r')).rejects.toMatchObject({ kind: TargetErrorKind.Throttled, status: 429, retryAfterMs: 7000 });
    });

    it('should throw throttled with Retry-After as an HTTP-date', async () => {
      handler = (_req, res) => json(res, 429, undefined, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      const err = await rejection(newClient().get('User', 'r'));
      expect(err.kind).toBe(TargetErrorKind.Throttled);
      expect(err.retryAfterMs).toBeGreaterThan(27_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it('should throttle for one second when 429 has no Retry-After', async () => {
      handler = (_req, res) => json(res, 429);
      await expect(newClient().get('User', 'r')).rejects.toMatchObject({ kind: TargetErrorKind.Throttled, retryAfterMs: 1000 });
    });

    it('should keep Retry-After on a retryable 503', async () => {
      handler = (_req, res) => json(res, 503, undefined, { 'retry-after': '120' });
      await expect(newClient().get('User', 'r')).rejects.toMatchObject({ kind: TargetErrorKind.Retryable, status: 503, retryAfterMs: 120_000 });
    });

    it('should truncate an HTML error page to 300 characters of detail', async () => {
      handler = (_req, res) => { res.writeHead(400, { 'content-type': 'text/html' }); res.end(`<html>${'x'.repeat(5000)}</html>`); };
      const err = await rejection(newClient().get('User', 'r'));
      expect(err.kind).toBe(TargetErrorKind.Permanent);
      expect(err.detail.length).toBe(300);
    });

    it('should throw retryable when a 2xx body is not JSON', async () => {
      handler = (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>login</html>'); };
      await expect(newClient().get('User', 'r')).rejects.toMatchObject({ kind: TargetErrorKind.Retryable, status: 200 });
    });
  });

  describe('classification of network failures', () => {
    it('should throw retryable when the target does not answer within timeoutMs', async () => {
      handler = (_req, res) => { stalled.push(res); };
      const err = await rejection(newClient({ timeoutMs: 150 }).get('User', 'r'));
      expect(err).toMatchObject({ kind: TargetErrorKind.Retryable, detail: 'UND_ERR_HEADERS_TIMEOUT' });
    });

    it('should throw retryable when the body stalls beyond timeoutMs', async () => {
      handler = (_req, res) => { stalled.push(res); res.writeHead(200, { 'content-type': 'application/scim+json' }); res.write('{"id":'); };
      const err = await rejection(newClient({ timeoutMs: 150 }).get('User', 'r'));
      expect(err).toMatchObject({ kind: TargetErrorKind.Retryable, detail: 'UND_ERR_BODY_TIMEOUT' });
    });

    it('should throw retryable when the target resets the connection', async () => {
      handler = req => { req.socket.destroy(); };
      const err = await rejection(newClient().get('User', 'r'));
      expect(err.kind).toBe(TargetErrorKind.Retryable);
    });

    it('should throw target-down when the connection is refused', async () => {
      const closed = createServer();
      await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>(resolve => closed.close(() => resolve()));

      client = new ScimClient(targetConfig(`http://127.0.0.1:${port}/scim/v2`), env);
      const err = await rejection(client.get('User', 'r'));
      expect(err).toMatchObject({ kind: TargetErrorKind.TargetDown, detail: 'ECONNREFUSED' });
    });
  });
});

describe(classifyResponse.name, () => {
  it.each([
    [200, {}, undefined],
    [201, {}, undefined],
    [204, {}, undefined],
    [301, {}, { kind: TargetErrorKind.TargetDown, status: 301 }],
    [400, {}, { kind: TargetErrorKind.Permanent, status: 400 }],
    [404, {}, { kind: TargetErrorKind.Permanent, status: 404 }],
    [409, {}, { kind: TargetErrorKind.Permanent, status: 409, scimType: 'uniqueness' }],
    [422, {}, { kind: TargetErrorKind.Permanent, status: 422 }],
    [401, {}, { kind: TargetErrorKind.TargetDown, status: 401 }],
    [403, {}, { kind: TargetErrorKind.TargetDown, status: 403 }],
    [408, {}, { kind: TargetErrorKind.Retryable, status: 408 }],
    [429, {}, { kind: TargetErrorKind.Throttled, status: 429, retryAfterMs: 1000 }],
    [429, { 'retry-after': '3' }, { kind: TargetErrorKind.Throttled, retryAfterMs: 3000 }],
    [429, { 'retry-after': '86400' }, { kind: TargetErrorKind.Throttled, retryAfterMs: 900_000 }],
    [429, { 'retry-after': 'soon' }, { kind: TargetErrorKind.Throttled, retryAfterMs: 1000 }],
    [500, {}, { kind: TargetErrorKind.Retryable, status: 500, retryAfterMs: undefined }],
    [503, { 'retry-after': '2' }, { kind: TargetErrorKind.Retryable, status: 503, retryAfterMs: 2000 }],
  ])('should classify %i %j', (status, headers, expected) => {
    const body = status === 409 ? { scimType: 'uniqueness', detail: 'exists' } : undefined;
    const result = classifyResponse(status, headers, body);
    if (expected === undefined) expect(result).toBeUndefined();
    else expect(result).toMatchObject(expected);
  });
});

describe(parseRetryAfter.name, () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['5', 5000],
    ['1.5', 1500],
    ['-1', undefined],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['Fri, 02 Jan 2026 00:00:00 GMT', 900_000],
    [['4', '9'], 4000],
    ['later', undefined],
  ])('should read %j as %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe(classifyNetworkError.name, () => {
  const coded = (code: string) => Object.assign(new Error('boom'), { code });
  it.each([
    ['ECONNREFUSED', coded('ECONNREFUSED'), TargetErrorKind.TargetDown],
    ['ENOTFOUND', coded('ENOTFOUND'), TargetErrorKind.TargetDown],
    ['EHOSTUNREACH', coded('EHOSTUNREACH'), TargetErrorKind.TargetDown],
    ['an AggregateError of refusals', new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), TargetErrorKind.TargetDown],
    ['ECONNRESET', coded('ECONNRESET'), TargetErrorKind.Retryable],
    ['HeadersTimeoutError', new errors.HeadersTimeoutError(), TargetErrorKind.Retryable],
    ['BodyTimeoutError', new errors.BodyTimeoutError(), TargetErrorKind.Retryable],
    ['ConnectTimeoutError', new errors.ConnectTimeoutError(), TargetErrorKind.Retryable],
    ['SocketError', new errors.SocketError('other side closed'), TargetErrorKind.Retryable],
    ['an unknown error', new Error('?'), TargetErrorKind.Retryable],
  ])('should classify %s', (_name, err, kind) => {
    expect(classifyNetworkError(err).kind).toBe(kind);
  });
});
