import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { HrAction } from '../config/hr-config.dto.js';

/** accepted → waiting for the worker; applied / ignored / failed after it; rejected = bad payload, never processed. */
export type HrEventStatus = 'accepted' | 'rejected' | 'applied' | 'ignored' | 'failed';

/**
 * One verified HR webhook delivery, stored raw and once per (source, event id) — the vendor's id, or
 * the sha256 of the body where the vendor sends none (issue 5, Idempotency).
 */
@Entity('hr_event')
@Index('IDX_hr_event_source_event', ['sourceId', 'eventId'], { unique: true })
@Index('IDX_hr_event_status', ['status', 'receivedAt'])
export class HrEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  @Column({ name: 'source_id', type: 'varchar', length: 64 }) sourceId!: string;
  @Column({ name: 'event_id', type: 'varchar', length: 200 }) eventId!: string;
  @Column({ name: 'received_at', type: 'varchar', length: 32 }) receivedAt!: string;
  /** The vendor's own event time (ISO-8601 UTC), or received_at when it sends none: orders updates per attribute. */
  @Column({ name: 'source_ts', type: 'varchar', length: 32 }) sourceTs!: string;
  @Column({ type: 'varchar', length: 16, nullable: true }) action!: HrAction | null;
  @Column({ name: 'employee_id', type: 'varchar', length: 200, nullable: true }) employeeId!: string | null;
  @Column({ type: 'varchar', length: 16 }) status!: HrEventStatus;
  @Column({ type: 'varchar', length: 1024, nullable: true }) reason!: string | null;
  /** The body as received (parsed JSON, form fields, or `{ raw: <text> }` when unparsable). */
  @Column({ type: 'simple-json' }) payload!: unknown;
  @Column({ name: 'processed_at', type: 'varchar', length: 32, nullable: true }) processedAt!: string | null;
}
