import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

const str = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });

/** HR webhooks (issue 5): raw events, effective-dated changes, per-employee link and attribute timestamps. SQLite and PostgreSQL. */
export class HrEvents1764900000000 implements MigrationInterface {
  name = 'HrEvents1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'hr_event',
      columns: [
        { ...str('id', 36), isPrimary: true }, str('source_id', 64), str('event_id', 200), str('received_at', 32), str('source_ts', 32),
        str('action', 16, true), str('employee_id', 200, true), str('status', 16), str('reason', 1024, true), text('payload'), str('processed_at', 32, true),
      ],
      indices: [
        new TableIndex({ name: 'IDX_hr_event_source_event', columnNames: ['source_id', 'event_id'], isUnique: true }),
        new TableIndex({ name: 'IDX_hr_event_status', columnNames: ['status', 'received_at'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'scheduled_change',
      columns: [
        { ...str('id', 36), isPrimary: true }, str('source_id', 64), str('employee_id', 200), str('action', 16), str('effective_at', 32), str('status', 16),
        str('resource_id', 36, true), str('hr_event_id', 36), str('created_at', 32), str('updated_at', 32), str('applied_at', 32, true),
      ],
      indices: [
        new TableIndex({ name: 'IDX_scheduled_change_due', columnNames: ['status', 'effective_at'] }),
        new TableIndex({ name: 'IDX_scheduled_change_employee', columnNames: ['source_id', 'employee_id', 'status'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'hr_employee',
      columns: [{ ...str('source_id', 64), isPrimary: true }, { ...str('employee_id', 200), isPrimary: true }, str('resource_id', 36, true), text('attr_ts'), str('updated_at', 32)],
      indices: [new TableIndex({ name: 'IDX_hr_employee_resource', columnNames: ['resource_id'] })],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['hr_employee', 'scheduled_change', 'hr_event']) await q.dropTable(t, true);
  }
}
