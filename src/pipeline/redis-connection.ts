import { Redis, RedisOptions } from 'ioredis';

/**
 * ioredis clients for BullMQ. Producers fail fast when Redis is down (`enableOfflineQueue: false`) so
 * a caller sees the error and the outbox keeps the row; workers wait for Redis forever
 * (`maxRetriesPerRequest: null`, as BullMQ requires). Both log errors instead of crashing.
 */
export function createRedis(url: string, role: 'producer' | 'worker', onError: (e: Error) => void): Redis {
  const opts: RedisOptions = role === 'producer'
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: times => Math.min(times * 200, 2000) }
    : { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: times => Math.min(times * 200, 2000) };
  const client = new Redis(url, { ...opts, lazyConnect: false });
  client.on('error', onError);
  return client;
}
