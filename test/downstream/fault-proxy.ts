import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { closeServer, listenLocal, nowMs } from './downstream-app.js';

/** Which requests a rule applies to; every given field must match. */
export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Substring of the request path (query string included). */
  pathIncludes?: string;
  /** Substring of the raw request body. */
  bodyIncludes?: string;
}

/** Answers matching requests itself, without forwarding them. */
export interface StatusRule {
  match?: FaultMatch;
  status: number;
  /** JSON body; defaults to a SCIM Error for status >= 400. */
  body?: object;
  headers?: Record<string, string>;
  /** Wait this long before answering (simulates a slow failure). */
  delayMs?: number;
  /** How many requests this rule applies to; default: forever. */
  times?: number;
}

/** Delays matching requests, then lets later rules or the upstream answer them. */
export interface LatencyRule {
  match?: FaultMatch;
  delayMs: number;
  times?: number;
}

/**
 * Holds matching requests until the test calls `release()` on the handle (or removes the rule), then lets
 * later rules or the upstream answer them. Makes "while a request is in flight" a fact, not a timing bet:
 * the test does what must happen meanwhile, then releases. Requests arriving after release pass at once.
 */
export interface GateRule {
  match?: FaultMatch;
  gate: true;
  times?: number;
}

export type FaultRule = StatusRule | LatencyRule | GateRule;

/** Returned by addRule, to inspect or drop one rule. */
export interface RuleHandle {
  /** Requests this rule has applied to so far. */
  readonly hits: number;
  remove(): void;
}

/** Returned by addRule for a GateRule. */
export interface GateHandle extends RuleHandle {
  /** Requests held right now. */
  readonly waiting: number;
  /** Lets every held request (and every later match) through. Removing the rule releases too. */
  release(): void;
}

/** One request seen by the proxy. Times are epoch milliseconds. */
export interface ProxyRequestRecord {
  method: string;
  /** Path with query string, as received. */
  path: string;
  status: number;
  startedAt: number;
  endedAt: number;
  /** Concurrency key (see maxConcurrentByResource), when the request addresses one resource. */
  resourceKey?: string;
  /** True when a rule answered instead of the upstream. */
  injected: boolean;
}

/** A running fault-injecting reverse proxy in front of a downstream app. */
export interface FaultProxy {
  /** Same path suffix as the upstream URL (…/scim/v2), on the proxy's own port. */
  url: string;
  addRule(rule: GateRule): GateHandle;
  addRule(rule: FaultRule): RuleHandle;
  clearRules(): void;
  /** Completed requests, in completion order. */
  requests: ProxyRequestRecord[];
  /**
   * Highest number of simultaneous in-flight requests seen per resource: `/Users/<id>` or `/Groups/<id>`
   * for any method, the body's userName for POST /Users, the body's displayName for POST /Groups.
   */
  maxConcurrentByResource(): Map<string, number>;
  /** Completed POST/PUT/PATCH/DELETE requests (injected ones included) that satisfy the predicate. */
  writeCount(predicate?: (r: ProxyRequestRecord) => boolean): number;
  close(): Promise<void>;
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
  hits: number;
  gate?: { opened: Promise<void>; open: () => void; waiting: number };
}

function newGate(): NonNullable<ActiveRule['gate']> {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open, waiting: 0 };
}

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Hop-by-hop headers (RFC 9110 §7.6.1) and those undici computes itself.
const DROPPED_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !DROPPED_HEADERS.has(k.toLowerCase())) out[k] = v;
  return out;
}

function matches(m: FaultMatch | undefined, req: IncomingMessage, body: string): boolean {
  if (!m) return true;
  if (m.method && m.method.toUpperCase() !== req.method?.toUpperCase()) return false;
  if (m.pathIncludes && !(req.url ?? '').includes(m.pathIncludes)) return false;
  if (m.bodyIncludes && !body.includes(m.bodyIncludes)) return false;
  return true;
}

function resourceKeyOf(method: string, relPath: string, body: string): string | undefined {
  const path = relPath.split('?')[0];
  if (/^\/(Users|Groups)\/[^/]+$/.test(path)) return path;
  if (method !== 'POST' || (path !== '/Users' && path !== '/Groups')) return undefined;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const key = path === '/Users' ? parsed.userName : parsed.displayName;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Starts a reverse proxy on 127.0.0.1 that forwards to `upstream` (method, path, query, headers and body
 * kept) unless a rule injects a status, a delay or a hold first. Rules are checked in the order added.
 */
export async function startFaultProxy(opts: {
  upstream: string;
  port?: number;
  /** Sees every request's method, path and raw body before rules apply (e.g. to inspect PATCH chunks). */
  onRequest?: (method: string, path: string, body: string) => void;
}): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  const basePath = upstream.pathname.replace(/\/$/, '');
  const pool = new Pool(upstream.origin, { connections: 128 });
  let rules: ActiveRule[] = [];
  const requests: ProxyRequestRecord[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();

  function take(req: IncomingMessage, body: string): ActiveRule[] {
    // Latency rules apply and let evaluation go on; the first status rule ends it.
    const applied: ActiveRule[] = [];
    for (const active of rules) {
      if (active.remaining <= 0 || !matches(active.rule.match, req, body)) continue;
      active.remaining -= 1;
      active.hits += 1;
      applied.push(active);
      if ('status' in active.rule) break;
    }
    return applied;
  }

  /** Answers from a rule or the upstream; marks `state.injected` before a rule's answer goes out. */
  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer, body: string, state: { injected: boolean }): Promise<void> {
    for (const { rule, gate } of take(req, body)) {
      if (gate) {
        gate.waiting += 1;
        await gate.opened;
        gate.waiting -= 1;
        continue;
      }
      if ('delayMs' in rule && rule.delayMs) await sleep(rule.delayMs);
      if (!('status' in rule)) continue;
      const payload = rule.body ?? (rule.status >= 400
        ? { schemas: [ERROR_URN], status: String(rule.status), detail: 'Injected by fault proxy' }
        : undefined);
      state.injected = true;
      res.writeHead(rule.status, { 'Content-Type': 'application/scim+json', ...rule.headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
      return;
    }
    try {
      const reply = await pool.request({
        method: (req.method ?? 'GET') as 'GET',
        path: req.url ?? '/',
        headers: forwardable(req.headers),
        body: raw.length ? raw : undefined,
      });
      const replyBody = Buffer.from(await reply.body.arrayBuffer());
      res.writeHead(reply.statusCode, { ...forwardable(reply.headers), 'content-length': String(replyBody.length) });
      res.end(replyBody);
    } catch (err) {
      res.writeHead(502, { 'Content-Type': 'application/scim+json' });
      res.end(JSON.stringify({ schemas: [ERROR_URN], status: '502', detail: `Upstream failed: ${(err as Error).message}` }));
    }
  }

  const server = createServer((req, res) => {
    const startedAt = nowMs();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    void (async () => {
      const raw = await readBody(req);
      const body = raw.toString('utf8');
      opts.onRequest?.(method, path, body);
      const rel = path.startsWith(basePath) ? path.slice(basePath.length) : path;
      const resourceKey = resourceKeyOf(method, rel, body);
      if (resourceKey) {
        const now = (inFlight.get(resourceKey) ?? 0) + 1;
        inFlight.set(resourceKey, now);
        maxInFlight.set(resourceKey, Math.max(now, maxInFlight.get(resourceKey) ?? 0));
      }
      const state = { injected: false };
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (resourceKey) inFlight.set(resourceKey, (inFlight.get(resourceKey) ?? 1) - 1);
        requests.push({ method, path, status: res.statusCode, startedAt, endedAt: nowMs(), ...(resourceKey ? { resourceKey } : {}), injected: state.injected });
      };
      res.on('finish', finish);
      res.on('close', finish);
      await handle(req, res, raw, body, state);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`fault proxy error: ${(err as Error).message}`);
    });
  });

  const origin = await listenLocal(server, opts.port);
  return {
    url: `${origin}${basePath}`,
    addRule(rule: FaultRule): GateHandle {
      const active: ActiveRule = { rule, remaining: rule.times ?? Infinity, hits: 0, ...('gate' in rule ? { gate: newGate() } : {}) };
      rules.push(active);
      return {
        get hits() {
          return active.hits;
        },
        get waiting() {
          return active.gate?.waiting ?? 0;
        },
        release: () => active.gate?.open(),
        remove: () => {
          rules = rules.filter((r) => r !== active);
          active.gate?.open();
        },
      };
    },
    clearRules() {
      for (const r of rules) r.gate?.open();
      rules = [];
    },
    requests,
    maxConcurrentByResource: () => new Map(maxInFlight),
    writeCount: (predicate) => requests.filter((r) => WRITE_METHODS.has(r.method) && (predicate ? predicate(r) : true)).length,
    async close() {
      for (const r of rules) r.gate?.open();
      await closeServer(server);
      await pool.close();
    },
  };
}
