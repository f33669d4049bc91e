import { MigrationInterface, QueryRunner } from 'typeorm';
import { resourceIndexRows, type AttrRow } from '../../identity/attr-index.js';
import { IndexSchemas } from '../../scim/query/index-schema.js';
import { SchemaRegistry } from '../../scim/schema/schema-registry.js';

/**
 * Long attribute values compare exactly: `resource_attr.value_full` holds the whole value when `value`
 * keeps only its indexed prefix (at most 1,024 UTF-8 bytes, src/identity/attr-index.ts). Earlier rows
 * were cut at 1,000 characters (and a 1,000-character non-ASCII value could exceed PostgreSQL's btree
 * entry limit), so every resource with a value that may have been cut or re-cuts differently is
 * re-indexed: any value of 256 characters or more (1,024 bytes need at least 256 characters).
 * Also replaces the resource_id index with (resource_id, path, value).
 */
export class ResourceAttrFullValue1764600000000 implements MigrationInterface {
  name = 'ResourceAttrFullValue1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE resource_attr ADD COLUMN value_full text NULL');
    // Conjunctions check their other clauses per candidate (filter-sql `conjunction`): a seek on
    // (resource_id, path, value) instead of reading every row of the resource. It supersedes the
    // resource_id index (its prefix). Within PostgreSQL's btree limit: 36 + 512 + 1,024 bytes.
    await q.query('CREATE INDEX "IDX_resource_attr_resource_path" ON resource_attr (resource_id, path, value)');
    await q.query('DROP INDEX "IDX_resource_attr_resource"');
    await reindexLongValues(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_resource_attr_resource" ON resource_attr (resource_id)');
    await q.query('DROP INDEX "IDX_resource_attr_resource_path"');
    await q.query('ALTER TABLE resource_attr DROP COLUMN value_full');
  }
}

/** Re-writes the index rows of every live resource holding a value of 256 characters or more. */
export async function reindexLongValues(q: QueryRunner): Promise<number> {
  const postgres = q.connection.driver.options.type === 'postgres';
  const bind = (n: number) => (postgres ? `$${n}` : '?');
  const normaliser = new IndexSchemas(new SchemaRegistry()).normaliser;
  const resources: Array<Record<string, unknown>> = await q.query(
    'SELECT id, resource_type, created_at, last_modified, version, doc FROM scim_resource WHERE deleted_at IS NULL AND id IN '
    + '(SELECT resource_id FROM resource_attr WHERE length(value) >= 256)',
  );
  for (const r of resources) {
    const id = String(r.id);
    const type = String(r.resource_type);
    const rows: AttrRow[] = resourceIndexRows({
      id, resourceType: type, created: String(r.created_at), lastModified: String(r.last_modified), version: Number(r.version),
      doc: typeof r.doc === 'string' ? JSON.parse(r.doc) : (r.doc as Record<string, unknown>),
    }, normaliser);
    await q.query(`DELETE FROM resource_attr WHERE resource_id = ${bind(1)}`, [id]);
    for (let i = 0; i < rows.length; i += 100) {
      const params: unknown[] = [];
      const tuples = rows.slice(i, i + 100).map(row => {
        params.push(id, type, row.path, row.value, row.full ?? null, row.element);
        const n = params.length;
        return `(${[5, 4, 3, 2, 1, 0].map(k => bind(n - k)).join(', ')})`;
      });
      await q.query(`INSERT INTO resource_attr (resource_id, resource_type, path, value, value_full, element) VALUES ${tuples.join(', ')}`, params);
    }
  }
  return resources.length;
}
