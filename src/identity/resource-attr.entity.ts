import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One normalised attribute value of a resource, written in JS at write time so filters compile to SQL
 * that SQLite and PostgreSQL evaluate alike (DESIGN.md, Store). `path` is lower-cased
 * (`username`, `emails.value`, `urn:…:enterprise:2.0:user:employeenumber`).
 */
@Entity('resource_attr')
@Index('IDX_resource_attr_lookup', ['resourceType', 'path', 'value'])
@Index('IDX_resource_attr_resource_path', ['resourceId', 'path', 'value'])
export class ResourceAttrEntity {
  @PrimaryGeneratedColumn('increment') id!: number;
  @Column({ name: 'resource_id', type: 'varchar', length: 36 }) resourceId!: string;
  @Column({ name: 'resource_type', type: 'varchar', length: 16 }) resourceType!: string;
  @Column({ type: 'varchar', length: 512 }) path!: string;
  /** Case-folded where caseExact is false; dateTimes as UTC ISO instants; booleans as 'true'/'false'; at most 1,024 UTF-8 bytes. */
  @Column({ type: 'varchar', length: 1024 }) value!: string;
  /** The whole value when `value` holds only its indexed prefix (attr-index `indexedPrefix`); null otherwise. */
  @Column({ name: 'value_full', type: 'text', nullable: true }) valueFull!: string | null;
  /** Index within a multi-valued attribute (null for singular ones): valuePath filters match within one element. */
  @Column({ type: 'integer', nullable: true }) element!: number | null;
}
