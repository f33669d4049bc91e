import { randomUUID } from 'node:crypto';

/** A new resource id (uuid v4): never all digits, never contains `:` (BullMQ job-id rules). */
export function newId(): string {
  return randomUUID();
}

/** A correlation id carried from the request through jobs and the push log. */
export function newCorrelationId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 16);
}
