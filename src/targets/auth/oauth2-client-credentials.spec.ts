import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import type { TargetConfig } from '../../config/app-config.js';
import { TargetError, TargetErrorKind } from '../target.error.js';
import { OAuth2ClientCredentials, refreshSkewMs } from './oauth2-client-credentials.js';

const SECRET = 'very s3cret:/+&=';
const env = { OAUTH_ID: 'switchboard app', OAUTH_SECRET: SECRET };

type TokenRequest = { authorization?: string; body: URLSearchParams };

function target(tokenUrl: string, auth: Partial<TargetConfig['auth']> = {}): TargetConfig {
  return {
    id: 'app', baseUrl: 'http://127.0.0.1:1/scim/v2', timeoutMs: 2000, concurrency: 2,
    auth: { type: 'oauth2-client-credentials', tokenUrl, clientIdEnv: 'OAUTH_ID', clientSecretEnv: 'OAUTH_SECRET', clientAuth: 'client_secret_basic', ...auth },
  } as TargetConfig;
}

describe(OAuth2ClientCredentials.name, () => {
  let server: Server;
  let tokenUrl: string;
  let requests: TokenRequest[];
  let answer: (req: TokenRequest, res: ServerResponse) => void;
  let auth: OAuth2ClientCredentials | undefined;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = createServer((req: IncomingMessage, res) => {
      let raw = '';
      req.on('data', c => (raw += c));
      req.on('end', () => {
        const r = { authorization: req.headers.authorization, body: new URLSearchParams(raw) };
        requests.push(r);
        // A little latency, so concurrent callers really overlap.
        setTimeout(() => answer(r, res), 20);
      });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token?tenant=t1`;
  });
  afterAll(() => new Promise<void>(r => server.close(() => r())));
  beforeEach(() => {
    requests = [];
    let n = 0;
    answer = (_req, res) => json(res, 200, { access_token: `tok-${++n}`, token_type: 'Bearer', expires_in: 3600 });
  });
  afterEach(async () => {
    await auth?.close();
    auth = undefined;
  });

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  async function failure(p: Promise<unknown>): Promise<TargetError> {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(TargetError);
    return e as TargetError;
  }

  it('should send client_secret_basic with id and secret form-encoded before base64 (RFC 6749 §2.3.1)', async () => {
    auth = new OAuth2ClientCredentials(target(tokenUrl, { scope: 'scim.write users', audience: 'https://app' }), env);
    expect(await auth.headers()).toEqual({ authorization: 'Bearer tok-1' });
    const [r] = requests;
    const decoded = Buffer.from(r.authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).toBe('switchboard+app:very+s3cret%3A%2F%2B%26%3D');
    expect(Object.fromEntries(r.body)).toEqual({ grant_type: 'client_credentials', scope: 'scim.write users', audience: 'https://app' });
  });

  it('should send client_secret_post credentials in the form body', async () => {
    auth = new OAuth2ClientCredentials(target(tokenUrl, { clientAuth: 'client_secret_post' }), env);
    await auth.headers();
    expect(requests[0].authorization).toBeUndefined();
    expect(Object.fromEntries(requests[0].body)).toEqual({ grant_type: 'client_credentials', client_id: 'switchboard app', client_secret: SECRET });
  });

  it('should fetch one token for many concurrent callers and reuse it', async () => {
    auth = new OAuth2ClientCredentials(target(tokenUrl), env);
    const all = await Promise.all(Array.from({ length: 20 }, () => auth!.headers()));
    expect(new Set(all.map(h => h.authorization))).toEqual(new Set(['Bearer tok-1']));
    await auth.headers();
    expect(requests).toHaveLength(1);
  });

  it('should refresh before expiry: at lifetime minus min(60 s, 10 %)', async () => {
    let now = 1_000_000;
    answer = (_r, res) => json(res, 200, { access_token: `tok-${requests.length}`, token_type: 'bearer', expires_in: 100 });
    auth = new OAuth2ClientCredentials(target(tokenUrl), env, () => now);
    expect(refreshSkewMs(100_000)).toBe(10_000);
    expect(refreshSkewMs(3_600_000)).toBe(60_000);
    expect((await auth.headers()).authorization).toBe('Bearer tok-1');
    now += 89_999;
    expect((await auth.headers()).authorization).toBe('Bearer tok-1');
    now += 1;
    expect((await auth.headers()).authorization).toBe('Bearer tok-2');
    expect(requests).toHaveLength(2);
  });

  it('should drop the refused token after a 401 and fetch a new one, once for concurrent refusals', async () => {
    auth = new OAuth2ClientCredentials(target(tokenUrl), env);
    const sent = await auth.headers();
    expect(auth.rejected(sent)).toBe(true);
    expect(auth.rejected(sent)).toBe(true);
    const [a, b] = await Promise.all([auth.headers(), auth.headers()]);
    expect(a.authorization).toBe('Bearer tok-2');
    expect(b.authorization).toBe('Bearer tok-2');
    // A late 401 for the old token must not throw away the new one.
    auth.rejected(sent);
    expect((await auth.headers()).authorization).toBe('Bearer tok-2');
    expect(requests).toHaveLength(2);
  });

  it.each([
    [401, { error: 'invalid_client', error_description: 'bad secret' }, TargetErrorKind.TargetDown, 'invalid_client'],
    [400, { error: 'invalid_scope' }, TargetErrorKind.TargetDown, 'invalid_scope'],
    [403, {}, TargetErrorKind.TargetDown, undefined],
    [500, { error: 'server_error' }, TargetErrorKind.Retryable, undefined],
    [503, {}, TargetErrorKind.Retryable, undefined],
  ])('should classify a token endpoint %i %j', async (status, body, kind, scimType) => {
    answer = (_r, res) => json(res, status, body);
    auth = new OAuth2ClientCredentials(target(tokenUrl), env);
    const e = await failure(auth.headers());
    expect([e.kind, e.status, e.scimType]).toEqual([kind, status, scimType]);
    expect(e.message).toContain('token endpoint');
    expect(e.message).not.toContain(SECRET);
    expect(e.message).not.toContain(Buffer.from(`switchboard+app:`).toString('base64').slice(0, 12));
  });

  it('should classify 429 as Throttled with Retry-After', async () => {
    answer = (_r, res) => json(res, 429, { error: 'slow_down' }, { 'retry-after': '7' });
    auth = new OAuth2ClientCredentials(target(tokenUrl), env);
    const e = await failure(auth.headers());
    expect([e.kind, e.retryAfterMs]).toEqual([TargetErrorKind.Throttled, 7000]);
  });

  it('should refuse an answer without access_token or with a non-bearer token_type', async () => {
    answer = (_r, res) => json(res, 200, { token_type: 'Bearer' });
    auth = new OAuth2ClientCredentials(target(tokenUrl), env);
    expect((await failure(auth.headers())).kind).toBe(TargetErrorKind.TargetDown);
    answer = (_r, res) => json(res, 200, { access_token: 'x', token_type: 'mac' });
    expect((await failure(auth.headers())).message).toContain('unsupported token_type');
  });

  it('should fail as TargetDown without a request when the env vars are empty', async () => {
    auth = new OAuth2ClientCredentials(target(tokenUrl), { OAUTH_ID: 'x' });
    const e = await failure(auth.headers());
    expect(e.kind).toBe(TargetErrorKind.TargetDown);
    expect(e.message).toContain('OAUTH_ID/OAUTH_SECRET');
    expect(requests).toHaveLength(0);
  });

  it('should classify an unreachable token endpoint as TargetDown and not cache the failure', async () => {
    auth = new OAuth2ClientCredentials(target('http://127.0.0.1:1/token'), env);
    const e = await failure(auth.headers());
    expect(e.kind).toBe(TargetErrorKind.TargetDown);
    expect(e.message).toContain('token endpoint unreachable');
  });
});
