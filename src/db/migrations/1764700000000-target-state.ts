import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** `target_state`: per-target rules hash (backfill on change) and mass-deletion quarantine. */
export class TargetState1764700000000 implements MigrationInterface {
  name = 'TargetState1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'target_state',
      columns: [
        { name: 'target_id', type: 'varchar', length: '64', isPrimary: true },
        { name: 'config_hash', type: 'varchar', length: '64', isNullable: true },
        { name: 'backfilled_at', type: 'varchar', length: '32', isNullable: true },
        { name: 'quarantined_at', type: 'varchar', length: '32', isNullable: true },
        { name: 'quarantine_reason', type: 'varchar', length: '512', isNullable: true },
        { name: 'updated_at', type: 'varchar', length: '32' },
      ],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('target_state');
  }
}
