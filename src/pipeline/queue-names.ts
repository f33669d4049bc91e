/** Queue names (DESIGN.md, Queues). No `:` in names (BullMQ). */
export enum QueueName {
  Changes = 'changes',
  DeadLetter = 'dlq',
  /** HR events relayed from the outbox (src/hr/hr-event.processor.ts). */
  HrEvents = 'hr-events',
  /** Delayed wake-ups of effective-dated HR changes, job id `due-<scheduledChangeId>` (DESIGN.md). */
  HrDue = 'hr-due',
}

/** One push queue per target, so each has its own rate limit, pause and circuit. */
export function pushQueueName(targetId: string): string {
  return `push.${targetId}`;
}

/** Job names; a value equals its member name's kebab form, easy to grep in Redis tools. */
export enum JobName {
  FanOut = 'fan-out',
  PushUser = 'push-user',
  PushGroup = 'push-group',
  DeadLetter = 'dead-letter',
  HrEvent = 'hr-event',
  HrDue = 'hr-due',
}
