import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

const str = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const int = (name: string, dflt?: number, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable, default: dflt });
const serial = (name: string): TableColumnOptions => ({ name, type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
const bool = (name: string, dflt?: boolean, nullable = false): TableColumnOptions => ({ name, type: 'boolean', isNullable: nullable, default: dflt });

/** The canonical store, outbox and target state (DESIGN.md, Store). Same schema on SQLite and PostgreSQL. */
export class InitialSchema1764400000000 implements MigrationInterface {
  name = 'InitialSchema1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'scim_resource',
      columns: [
        { ...str('id', 36), isPrimary: true }, str('resource_type', 16), str('external_id', 512, true), str('display_key', 512),
        str('unique_key', 512, true), bool('active', true), int('version'), str('created_at', 32), str('last_modified', 32),
        str('deleted_at', 32, true), text('doc'),
      ],
      indices: [
        new TableIndex({ name: 'IDX_scim_resource_unique_key', columnNames: ['resource_type', 'unique_key'], isUnique: true, where: 'deleted_at IS NULL AND unique_key IS NOT NULL' }),
        new TableIndex({ name: 'IDX_scim_resource_type_modified', columnNames: ['resource_type', 'last_modified'] }),
        new TableIndex({ name: 'IDX_scim_resource_external_id', columnNames: ['resource_type', 'external_id'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'resource_attr',
      columns: [serial('id'), str('resource_id', 36), str('resource_type', 16), str('path', 512), str('value', 1024), int('element', undefined, true)],
      indices: [
        new TableIndex({ name: 'IDX_resource_attr_lookup', columnNames: ['resource_type', 'path', 'value'] }),
        new TableIndex({ name: 'IDX_resource_attr_resource', columnNames: ['resource_id'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'group_member',
      columns: [{ ...str('group_id', 36), isPrimary: true }, { ...str('member_id', 36), isPrimary: true }, { ...str('member_type', 16), default: "'User'" }],
      indices: [new TableIndex({ name: 'IDX_group_member_member', columnNames: ['member_id'] })],
    }));
    await q.createTable(new Table({
      name: 'change_event',
      columns: [
        serial('id'), str('resource_type', 16), str('resource_id', 36), int('version'), str('kind', 16), str('origin', 128),
        str('correlation_id', 64), text('touched', true), str('created_at', 32), str('published_at', 32, true),
      ],
      indices: [new TableIndex({ name: 'IDX_change_event_unpublished', columnNames: ['published_at', 'id'] })],
    }));
    await q.createTable(new Table({
      name: 'target_link',
      columns: [
        { ...str('target_id', 64), isPrimary: true }, { ...str('resource_id', 36), isPrimary: true }, str('resource_type', 16),
        str('remote_id', 512, true), str('status', 16), int('pushed_version', 0), str('pushed_hash', 64, true), text('pushed_state', true),
        bool('remote_active', undefined, true), str('last_error', 1024, true), int('attempts', 0), str('updated_at', 32), str('synced_at', 32, true),
      ],
      indices: [
        new TableIndex({ name: 'IDX_target_link_status', columnNames: ['target_id', 'status'] }),
        new TableIndex({ name: 'IDX_target_link_resource', columnNames: ['resource_id'] }),
      ],
    }));
    await q.createTable(new Table({
      name: 'target_group_member',
      columns: [{ ...str('target_id', 64), isPrimary: true }, { ...str('group_id', 36), isPrimary: true }, { ...str('member_id', 36), isPrimary: true }],
      indices: [new TableIndex({ name: 'IDX_target_group_member_member', columnNames: ['target_id', 'member_id'] })],
    }));
    await q.createTable(new Table({
      name: 'push_log',
      columns: [
        serial('id'), str('target_id', 64), str('resource_type', 16), str('resource_id', 36), str('action', 16), int('version'),
        int('http_status', undefined, true), int('duration_ms'), bool('ok'), str('error', 1024, true), str('job_id', 200, true),
        str('correlation_id', 64, true), str('created_at', 32),
      ],
      indices: [
        new TableIndex({ name: 'IDX_push_log_target_resource', columnNames: ['target_id', 'resource_id'] }),
        new TableIndex({ name: 'IDX_push_log_created', columnNames: ['created_at'] }),
      ],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['push_log', 'target_group_member', 'target_link', 'change_event', 'group_member', 'resource_attr', 'scim_resource']) {
      await q.dropTable(t);
    }
  }
}
