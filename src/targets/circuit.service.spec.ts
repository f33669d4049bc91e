import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { Redis } from 'ioredis';
import { deletePrefix, SHARED_REDIS_URL } from '../../test/utils/redis.js';
import type { AppConfig, TargetConfig } from '../config/app-config.js';
import { MetricsService } from '../ops/metrics.service.js';
import type { JobQueueService } from '../pipeline/job-queue.service.js';
import { CircuitService } from './circuit.service.js';
import type { TargetClients } from './target-clients.service.js';

/** Two CircuitService instances ("processes") sharing one Redis, a fake queue and a probe that fails until told otherwise. */
describe(CircuitService.name, () => {
  const prefix = `sbtest-circ-${randomBytes(4).toString('hex')}`;
  const target = { id: 'app', circuit: { failureThreshold: 3, probeIntervalMs: 100 } } as TargetConfig;
  const config = { env: { queuePrefix: prefix }, targets: [target] } as unknown as AppConfig;
  let redis: Redis;
  let paused: boolean;
  let targetUp: boolean;
  let quarantined: boolean;
  let probes: number;
  let probeMs: number;
  const services: CircuitService[] = [];

  const make = () => {
    const jobs = { connection: redis, pushQueue: () => ({ pause: async () => void (paused = true), resume: async () => void (paused = false) }) } as unknown as JobQueueService;
    const clients = { get: () => ({ findOne: async () => { probes += 1; await new Promise(r => setTimeout(r, probeMs)); if (!targetUp) throw new Error('target down (HTTP 503)'); return { status: 200, body: [] }; } }) } as unknown as TargetClients;
    const moduleRef = { get: () => ({ isQuarantined: async () => quarantined }) } as unknown as ModuleRef;
    const s = new CircuitService(config, jobs, clients, new MetricsService(), moduleRef);
    services.push(s);
    return s;
  };

  beforeAll(() => {
    Logger.overrideLogger(false);
    redis = new Redis(SHARED_REDIS_URL);
  });
  beforeEach(async () => {
    await redis.del(`${prefix}:circuit:app`);
    paused = false;
    targetUp = false;
    quarantined = false;
    probes = 0;
    probeMs = 0;
  });
  afterEach(() => {
    for (const s of services.splice(0)) s.onApplicationShutdown();
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  const waitFor = async (cond: () => Promise<boolean> | boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise(r => setTimeout(r, 20));
    }
  };

  it('should report a never-opened circuit as closed', async () => {
    expect(await make().state('app')).toEqual({ targetId: 'app', state: 'closed', since: null, lastError: null, failures: 0, failureThreshold: 3, probeIntervalMs: 100 });
    await expect(make().state('nope')).rejects.toThrow('Unknown target nope');
  });

  it('should count consecutive failures across processes and open at the threshold', async () => {
    const a = make();
    const b = make();
    expect(await a.recordRetryable(target, 'HTTP 503 one')).toBe(false);
    expect(await b.recordRetryable(target, 'HTTP 503 two')).toBe(false);
    expect(await b.state('app')).toMatchObject({ state: 'closed', failures: 2, lastError: 'HTTP 503 two' });
    expect(await a.recordRetryable(target, 'HTTP 503 three')).toBe(true);
    const s = await b.state('app');
    expect(s).toMatchObject({ state: 'open', failures: 3 });
    expect(s.lastError).toContain('3 consecutive failures');
    expect(Date.parse(s.since!)).toBeGreaterThan(Date.now() - 5000);
    expect(paused).toBe(true);
  });

  it('should reset the run on a success seen by any process', async () => {
    const a = make();
    const b = make();
    await a.recordRetryable(target);
    await a.recordRetryable(target);
    await b.recordSuccess('app');
    expect(await a.recordRetryable(target)).toBe(false);
    expect((await a.state('app')).failures).toBe(1);
  });

  it('should probe every probeIntervalMs, go half-open while probing, then close and resume', async () => {
    const a = make();
    await a.open(target, 'target target-down (HTTP 401)');
    const opened = await a.state('app');
    expect(opened).toMatchObject({ state: 'open', lastError: 'target target-down (HTTP 401)' });
    await waitFor(() => probes >= 2);
    expect((await a.state('app')).lastError).toContain('probe: target down (HTTP 503)');
    probeMs = 300;
    await waitFor(async () => (await a.state('app')).state === 'half-open');
    expect(paused).toBe(true);
    targetUp = true;
    await waitFor(async () => (await a.state('app')).state === 'closed');
    expect(await a.state('app')).toMatchObject({ state: 'closed', failures: 0 });
    expect(paused).toBe(false);
  });

  it('should let another process adopt and probe a circuit whose opener is gone', async () => {
    const gone = make();
    await gone.open(target, 'refused');
    gone.onApplicationShutdown(); // its probe timer stops, the Redis state stays
    const other = make();
    await other.adoptOpenCircuits();
    const before = probes;
    await waitFor(() => probes > before);
    targetUp = true;
    await waitFor(async () => (await other.state('app')).state === 'closed');
    expect(paused).toBe(false);
  });

  it('should keep a quarantined target paused when its probe succeeds', async () => {
    const a = make();
    await a.open(target, 'refused');
    quarantined = true;
    targetUp = true;
    await waitFor(async () => (await a.state('app')).state === 'closed');
    expect(paused).toBe(true);
  });
});
