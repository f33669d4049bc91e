import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Pool } from 'undici';
import { closeServer, listenLocal, nowMs } from './downstream-app.js';

/** One request to the token endpoint. */
export interface TokenRequestRecord {
  at: number;
  status: number;
  /** `client_secret_basic` or `client_secret_post`, as the client authenticated. */
  clientAuth?: 'client_secret_basic' | 'client_secret_post';
  grantType?: string;
  scope?: string;
}

/** A tiny OAuth 2.0 authorization server: the client credentials grant only (RFC 6749 §4.4). */
export interface OAuthServer {
  /** `http://127.0.0.1:<port>/oauth/token`. */
  tokenUrl: string;
  tokenRequests: TokenRequestRecord[];
  /** Access tokens issued so far, in order. */
  issued: string[];
  /** True when this server issued `token` and it has neither expired nor been revoked. */
  isValid(token: string): boolean;
  /** Revokes every token issued so far (the next request with one of them gets 401). */
  revokeAll(): void;
  /** Changes `expires_in` (seconds) for tokens issued from now on. */
  setExpiresIn(seconds: number): void;
  close(): Promise<void>;
}

export interface OAuthServerOptions {
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued tokens in seconds (default 3600). */
  expiresIn?: number;
  port?: number;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => resolve(raw));
    req.on('error', reject);
  });
}

/** application/x-www-form-urlencoded decoding of one Basic credential part (RFC 6749 §2.3.1). */
function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/**
 * Starts a token endpoint on 127.0.0.1 accepting `client_secret_basic` or `client_secret_post`. Wrong
 * credentials get 401 `invalid_client` (RFC 6749 §5.2); anything but `client_credentials` gets 400
 * `unsupported_grant_type`.
 */
export async function startOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  let expiresIn = opts.expiresIn ?? 3600;
  const valid = new Map<string, number>();
  const issued: string[] = [];
  const tokenRequests: TokenRequestRecord[] = [];

  const server: Server = createServer((req, res) => {
    void (async () => {
      const form = new URLSearchParams(await readBody(req));
      const send = (status: number, body: object, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
        res.end(JSON.stringify(body));
      };
      const record: TokenRequestRecord = { at: nowMs(), status: 0, grantType: form.get('grant_type') ?? undefined, scope: form.get('scope') ?? undefined };
      tokenRequests.push(record);
      let id: string | undefined;
      let secret: string | undefined;
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const [u, p] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
        id = formDecode(u ?? '');
        secret = formDecode(p ?? '');
        record.clientAuth = 'client_secret_basic';
      } else if (form.has('client_id')) {
        id = form.get('client_id') ?? undefined;
        secret = form.get('client_secret') ?? undefined;
        record.clientAuth = 'client_secret_post';
      }
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/oauth/token') {
        record.status = 404;
        return send(404, { error: 'not_found' });
      }
      if (id !== opts.clientId || secret !== opts.clientSecret) {
        record.status = 401;
        return send(401, { error: 'invalid_client', error_description: 'Client authentication failed' }, { 'www-authenticate': 'Basic realm="token"' });
      }
      if (record.grantType !== 'client_credentials') {
        record.status = 400;
        return send(400, { error: 'unsupported_grant_type' });
      }
      const token = `at-${randomBytes(12).toString('hex')}`;
      valid.set(token, Date.now() + expiresIn * 1000);
      issued.push(token);
      record.status = 200;
      send(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn, ...(record.scope ? { scope: record.scope } : {}) });
    })().catch(() => res.destroy());
  });
  const origin = await listenLocal(server, opts.port);
  return {
    tokenUrl: `${origin}/oauth/token`,
    tokenRequests,
    issued,
    isValid: token => (valid.get(token) ?? 0) > Date.now(),
    revokeAll: () => valid.clear(),
    setExpiresIn: s => void (expiresIn = s),
    close: () => closeServer(server),
  };
}

/** One request the gate saw. Times are epoch ms. */
export interface GateRequestRecord {
  method: string;
  path: string;
  status: number;
  startedAt: number;
  endedAt: number;
  /** The bearer token presented, if any. */
  token?: string;
}

/** A reverse proxy that admits only requests `check` accepts, and counts what is in flight. */
export interface AuthGate {
  /** Same path suffix as the upstream URL (…/scim/v2), on the gate's own port. */
  url: string;
  requests: GateRequestRecord[];
  /** Most requests in flight at once since start (admitted or not). */
  maxInFlight(): number;
  close(): Promise<void>;
}

export interface AuthGateOptions {
  /** Base URL of the downstream app, e.g. a strict app's `…/scim/v2`. */
  upstream: string;
  /** Static bearer token the upstream app itself requires; the gate sends it instead of the client's. */
  upstreamToken: string;
  /** Admits a request; a refused one gets 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3). */
  check: (req: IncomingMessage) => boolean;
  port?: number;
}

/** Admits requests carrying a live access token issued by `oauth`. */
export const bearerFrom = (oauth: OAuthServer) => (req: IncomingMessage): boolean => {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return !!m && oauth.isValid(m[1]);
};

/** Admits requests whose header `name` equals `value`. */
export const headerEquals = (name: string, value: string) => (req: IncomingMessage): boolean => req.headers[name.toLowerCase()] === value;

/**
 * Starts a gate in front of a downstream app so that the app requires the credentials `check`
 * describes (e.g. tokens of an {@link OAuthServer}), without changing the app.
 */
export async function startAuthGate(opts: AuthGateOptions): Promise<AuthGate> {
  const upstream = new URL(opts.upstream);
  const basePath = upstream.pathname.replace(/\/$/, '');
  const pool = new Pool(upstream.origin, { connections: 64 });
  const requests: GateRequestRecord[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer((req, res) => {
    const startedAt = nowMs();
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight -= 1;
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', status: res.statusCode, startedAt, endedAt: nowMs(), ...(token ? { token } : {}) });
    };
    res.on('finish', finish);
    res.on('close', finish);
    void (async () => {
      const raw = await readBody(req);
      if (!opts.check(req)) {
        res.writeHead(401, { 'content-type': 'application/scim+json', 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: 'invalid or expired token' }));
        return;
      }
      const headers: Record<string, string> = { authorization: `Bearer ${opts.upstreamToken}` };
      for (const h of ['content-type', 'accept', 'if-match']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
      const reply = await pool.request({ method: (req.method ?? 'GET') as 'GET', path: req.url ?? '/', headers, body: raw.length ? raw : undefined });
      const body = Buffer.from(await reply.body.arrayBuffer());
      const out: Record<string, string> = { 'content-length': String(body.length) };
      for (const h of ['content-type', 'etag', 'location', 'retry-after']) if (typeof reply.headers[h] === 'string') out[h] = reply.headers[h] as string;
      res.writeHead(reply.statusCode, out);
      res.end(body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`gate error: ${(err as Error).message}`);
    });
  });
  const origin = await listenLocal(server, opts.port);
  return {
    url: `${origin}${basePath}`,
    requests,
    maxInFlight: () => maxInFlight,
    async close() {
      await closeServer(server);
      await pool.close();
    },
  };
}
