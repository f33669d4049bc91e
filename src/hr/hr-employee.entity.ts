import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Per (source, employee): the canonical identity it is linked to, and for each attribute path the
 * source timestamp of the event that last set it — an older event never overwrites it (issue 5, Out-of-order).
 */
@Entity('hr_employee')
@Index('IDX_hr_employee_resource', ['resourceId'])
export class HrEmployeeEntity {
  @PrimaryColumn({ name: 'source_id', type: 'varchar', length: 64 }) sourceId!: string;
  @PrimaryColumn({ name: 'employee_id', type: 'varchar', length: 200 }) employeeId!: string;
  @Column({ name: 'resource_id', type: 'varchar', length: 36, nullable: true }) resourceId!: string | null;
  /** Attribute path → ISO source timestamp of its last write by this source. */
  @Column({ name: 'attr_ts', type: 'simple-json' }) attrTs!: Record<string, string>;
  @Column({ name: 'updated_at', type: 'varchar', length: 32 }) updatedAt!: string;
}
