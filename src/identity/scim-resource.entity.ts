import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A canonical SCIM resource (User or Group). `deletedAt` marks a tombstone: hidden from SCIM reads and
 * uniqueness, kept until every target link is deprovisioned (DESIGN.md, Store).
 */
@Entity('scim_resource')
@Index('IDX_scim_resource_unique_key', ['resourceType', 'uniqueKey'], { unique: true, where: 'deleted_at IS NULL AND unique_key IS NOT NULL' })
@Index('IDX_scim_resource_type_modified', ['resourceType', 'lastModified'])
@Index('IDX_scim_resource_external_id', ['resourceType', 'externalId'])
export class ScimResourceEntity {
  /** Server-assigned id (uuid). */
  @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  @Column({ name: 'resource_type', type: 'varchar', length: 16 }) resourceType!: 'User' | 'Group';
  @Column({ name: 'external_id', type: 'varchar', length: 512, nullable: true }) externalId!: string | null;
  /** userName (Users) or displayName (Groups), as given. */
  @Column({ name: 'display_key', type: 'varchar', length: 512 }) name!: string;
  /** Case-folded userName for case-insensitive uniqueness (RFC 7643 §4.1: caseExact false); null for Groups. */
  @Column({ name: 'unique_key', type: 'varchar', length: 512, nullable: true }) uniqueKey!: string | null;
  @Column({ type: 'boolean', default: true }) active!: boolean;
  /** Integer version; ETag `W/"<version>"`. */
  @Column({ type: 'integer' }) version!: number;
  /** ISO-8601 UTC instants with ms, identical on SQLite and PostgreSQL. */
  @Column({ name: 'created_at', type: 'varchar', length: 32 }) created!: string;
  @Column({ name: 'last_modified', type: 'varchar', length: 32 }) lastModified!: string;
  @Column({ name: 'deleted_at', type: 'varchar', length: 32, nullable: true }) deletedAt!: string | null;
  /** Full SCIM JSON without id/meta and without Group members (those live in group_member). */
  @Column({ type: 'simple-json' }) doc!: Record<string, unknown>;
}
