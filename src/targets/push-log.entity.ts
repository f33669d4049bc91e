import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type PushAction = 'create' | 'update' | 'link' | 'disable' | 'delete' | 'skip' | 'members';

/** One row per push attempt (DESIGN.md, Store): what was done, how it ended, how long it took. */
@Entity('push_log')
@Index('IDX_push_log_target_resource', ['targetId', 'resourceId'])
@Index('IDX_push_log_created', ['createdAt'])
export class PushLogEntity {
  @PrimaryGeneratedColumn('increment') id!: number;
  @Column({ name: 'target_id', type: 'varchar', length: 64 }) targetId!: string;
  @Column({ name: 'resource_type', type: 'varchar', length: 16 }) resourceType!: string;
  @Column({ name: 'resource_id', type: 'varchar', length: 36 }) resourceId!: string;
  @Column({ type: 'varchar', length: 16 }) action!: PushAction;
  /** Canonical version this attempt pushed. */
  @Column({ type: 'integer' }) version!: number;
  @Column({ name: 'http_status', type: 'integer', nullable: true }) httpStatus!: number | null;
  @Column({ name: 'duration_ms', type: 'integer' }) durationMs!: number;
  @Column({ type: 'boolean' }) ok!: boolean;
  @Column({ type: 'varchar', length: 1024, nullable: true }) error!: string | null;
  @Column({ name: 'job_id', type: 'varchar', length: 200, nullable: true }) jobId!: string | null;
  @Column({ name: 'correlation_id', type: 'varchar', length: 64, nullable: true }) correlationId!: string | null;
  @Column({ name: 'created_at', type: 'varchar', length: 32 }) createdAt!: string;
}
