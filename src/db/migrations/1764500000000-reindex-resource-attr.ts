import { MigrationInterface, QueryRunner } from 'typeorm';
import { resourceIndexRows } from '../../identity/attr-index.js';
import { IndexSchemas } from '../../scim/query/index-schema.js';
import { SchemaRegistry } from '../../scim/schema/schema-registry.js';

/**
 * Rebuilds `resource_attr` with the schema-driven normalisation (src/scim/query/index-schema.ts):
 * caseExact per attribute, dateTimes as UTC instants, sortable number encoding, element marker rows,
 * and the meta rows (resourceType, version). No column changes; rows written by the earlier,
 * hard-coded normaliser would otherwise disagree with the SQL filter compiler.
 */
export class ReindexResourceAttr1764500000000 implements MigrationInterface {
  name = 'ReindexResourceAttr1764500000000';

  async up(q: QueryRunner): Promise<void> {
    const postgres = q.connection.driver.options.type === 'postgres';
    const normaliser = new IndexSchemas(new SchemaRegistry()).normaliser;
    const resources: Array<Record<string, unknown>> = await q.query(
      'SELECT id, resource_type, created_at, last_modified, version, doc FROM scim_resource WHERE deleted_at IS NULL',
    );
    for (const r of resources) {
      const id = String(r.id);
      const type = String(r.resource_type);
      const rows = resourceIndexRows({
        id, resourceType: type, created: String(r.created_at), lastModified: String(r.last_modified), version: Number(r.version),
        doc: typeof r.doc === 'string' ? JSON.parse(r.doc) : (r.doc as Record<string, unknown>),
      }, normaliser);
      await q.query(`DELETE FROM resource_attr WHERE resource_id = ${postgres ? '$1' : '?'}`, [id]);
      for (let i = 0; i < rows.length; i += 100) {
        const chunk = rows.slice(i, i + 100);
        const params: unknown[] = [];
        const tuples = chunk.map(row => {
          params.push(id, type, row.path, row.value, row.element);
          const n = params.length;
          return postgres ? `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})` : '(?, ?, ?, ?, ?)';
        });
        await q.query(`INSERT INTO resource_attr (resource_id, resource_type, path, value, element) VALUES ${tuples.join(', ')}`, params);
      }
    }
  }

  async down(): Promise<void> {
    // The rows stay valid for the previous code's equality filters; nothing to undo.
  }
}
