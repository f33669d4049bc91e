/** `change_event.kind` of an HR event's outbox row; the relay routes these to `hr-events`, never to fan-out. */
export const HR_EVENT_KIND = 'hr-event';
/** `change_event.resource_type` of those rows (`resource_id` = the hr_event id). */
export const HR_EVENT_RESOURCE_TYPE = 'HrEvent';

/** `hr-events` job: one stored HR event. Ids only. */
export interface HrEventJobData { hrEventId: string; sourceId: string; outboxId?: number }

/** `hr-due` job: wake the processor for one scheduled change; it re-reads the row. */
export interface HrDueJobData { scheduledChangeId: string }

/** Job id of an HR event: one per event, so a re-publish or a sweep re-enqueue is absorbed. */
export function hrEventJobId(hrEventId: string): string {
  return `hr-${hrEventId}`;
}

/** Job id of a scheduled change's wake-up (DESIGN.md, Queues: `due-<scheduledChangeId>`). */
export function hrDueJobId(scheduledChangeId: string): string {
  return `due-${scheduledChangeId}`;
}
