import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ChangeKind = 'upsert' | 'delete';

/** The transactional outbox: one row per accepted write, committed with the write (DESIGN.md, Outbox relay). */
@Entity('change_event')
@Index('IDX_change_event_unpublished', ['publishedAt', 'id'])
export class ChangeEventEntity {
  /** Monotonically increasing; the `changes` job id is `ob-<id>`. */
  @PrimaryGeneratedColumn('increment') id!: number;
  @Column({ name: 'resource_type', type: 'varchar', length: 16 }) resourceType!: 'User' | 'Group';
  @Column({ name: 'resource_id', type: 'varchar', length: 36 }) resourceId!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'varchar', length: 16 }) kind!: ChangeKind;
  /** Who wrote: `scim:<clientId>`, `hr:<sourceId>`, `admin:<who>`. */
  @Column({ type: 'varchar', length: 128 }) origin!: string;
  @Column({ name: 'correlation_id', type: 'varchar', length: 64 }) correlationId!: string;
  /** Extra resource ids whose target state this change affects (e.g. group members added/removed). */
  @Column({ type: 'simple-json', nullable: true }) touched!: string[] | null;
  @Column({ name: 'created_at', type: 'varchar', length: 32 }) createdAt!: string;
  @Column({ name: 'published_at', type: 'varchar', length: 32, nullable: true }) publishedAt!: string | null;
}
