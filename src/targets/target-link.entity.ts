import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Link states (DESIGN.md, Store). */
export type LinkStatus = 'pending' | 'synced' | 'out_of_scope' | 'deprovisioned' | 'failed';

/**
 * The pairing of a canonical resource with its account in one target: remote id, what was last
 * pushed (version, hash, mapped state) and how the last push ended.
 */
@Entity('target_link')
@Index('IDX_target_link_status', ['targetId', 'status'])
@Index('IDX_target_link_resource', ['resourceId'])
export class TargetLinkEntity {
  @PrimaryColumn({ name: 'target_id', type: 'varchar', length: 64 }) targetId!: string;
  @PrimaryColumn({ name: 'resource_id', type: 'varchar', length: 36 }) resourceId!: string;
  @Column({ name: 'resource_type', type: 'varchar', length: 16 }) resourceType!: 'User' | 'Group';
  @Column({ name: 'remote_id', type: 'varchar', length: 512, nullable: true }) remoteId!: string | null;
  @Column({ type: 'varchar', length: 16 }) status!: LinkStatus;
  /** Canonical version the last successful push applied (0 = never). */
  @Column({ name: 'pushed_version', type: 'integer', default: 0 }) pushedVersion!: number;
  @Column({ name: 'pushed_hash', type: 'varchar', length: 64, nullable: true }) pushedHash!: string | null;
  /** Mapped state last sent (the diff base); never includes secrets. */
  @Column({ name: 'pushed_state', type: 'simple-json', nullable: true }) pushedState!: Record<string, unknown> | null;
  /** Whether the remote account is currently disabled by us (deprovision: disable). */
  @Column({ name: 'remote_active', type: 'boolean', nullable: true }) remoteActive!: boolean | null;
  @Column({ name: 'last_error', type: 'varchar', length: 1024, nullable: true }) lastError!: string | null;
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @Column({ name: 'updated_at', type: 'varchar', length: 32 }) updatedAt!: string;
  @Column({ name: 'synced_at', type: 'varchar', length: 32, nullable: true }) syncedAt!: string | null;
}
