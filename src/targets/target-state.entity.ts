import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What Switchboard remembers per target beyond its links: the hash of the rules it last backfilled
 * (mappings, scope, group filter, pass-through …; a new or changed hash triggers a backfill) and the
 * mass-deletion quarantine, so both survive restarts and a Redis that lost its data.
 */
@Entity('target_state')
export class TargetStateEntity {
  @PrimaryColumn({ name: 'target_id', type: 'varchar', length: 64 }) targetId!: string;
  /** SHA-256 (hex) of the target's push rules as last backfilled; null until the first backfill ends. */
  @Column({ name: 'config_hash', type: 'varchar', length: 64, nullable: true }) configHash!: string | null;
  @Column({ name: 'backfilled_at', type: 'varchar', length: 32, nullable: true }) backfilledAt!: string | null;
  /** Set while the deletion guard holds the target's deprovisions (ISO instant). */
  @Column({ name: 'quarantined_at', type: 'varchar', length: 32, nullable: true }) quarantinedAt!: string | null;
  @Column({ name: 'quarantine_reason', type: 'varchar', length: 512, nullable: true }) quarantineReason!: string | null;
  @Column({ name: 'updated_at', type: 'varchar', length: 32 }) updatedAt!: string;
}
