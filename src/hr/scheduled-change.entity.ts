import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `hire` provisions (preHireDays before the start), `activate` sets active at the start, `terminate` deactivates. */
export type ScheduledAction = 'hire' | 'activate' | 'terminate';
/** `failed`: it can never apply (invalid value, ambiguous match); the reason is on its HR event. */
export type ScheduledStatus = 'pending' | 'applied' | 'cancelled' | 'superseded' | 'failed';

/**
 * An effective-dated HR action — the source of truth (DESIGN.md, Store). Written in the webhook's
 * transaction; a delayed `hr-due` job (`due-<id>`) or the sweep only wakes the processor, which
 * re-reads this row and applies it if still `pending` and due.
 */
@Entity('scheduled_change')
@Index('IDX_scheduled_change_due', ['status', 'effectiveAt'])
@Index('IDX_scheduled_change_employee', ['sourceId', 'employeeId', 'status'])
export class ScheduledChangeEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  @Column({ name: 'source_id', type: 'varchar', length: 64 }) sourceId!: string;
  @Column({ name: 'employee_id', type: 'varchar', length: 200 }) employeeId!: string;
  @Column({ type: 'varchar', length: 16 }) action!: ScheduledAction;
  /** ISO-8601 UTC instant the change takes effect. */
  @Column({ name: 'effective_at', type: 'varchar', length: 32 }) effectiveAt!: string;
  @Column({ type: 'varchar', length: 16 }) status!: ScheduledStatus;
  /** The canonical resource it was applied to (set when applied). */
  @Column({ name: 'resource_id', type: 'varchar', length: 36, nullable: true }) resourceId!: string | null;
  /** The HR event whose payload the change applies (the latest correction). */
  @Column({ name: 'hr_event_id', type: 'varchar', length: 36 }) hrEventId!: string;
  @Column({ name: 'created_at', type: 'varchar', length: 32 }) createdAt!: string;
  @Column({ name: 'updated_at', type: 'varchar', length: 32 }) updatedAt!: string;
  @Column({ name: 'applied_at', type: 'varchar', length: 32, nullable: true }) appliedAt!: string | null;
}
