import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { EnvConfig, isSqlite } from '../config/env.js';
import { HrEmployeeEntity } from '../hr/hr-employee.entity.js';
import { HrEventEntity } from '../hr/hr-event.entity.js';
import { ScheduledChangeEntity } from '../hr/scheduled-change.entity.js';
import { HrEvents1764900000000 } from './migrations/1764900000000-hr-events.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import { GroupMemberEntity } from '../identity/group-member.entity.js';
import { ResourceAttrEntity } from '../identity/resource-attr.entity.js';
import { ScimResourceEntity } from '../identity/scim-resource.entity.js';
import { PushLogEntity } from '../targets/push-log.entity.js';
import { TargetGroupMemberEntity } from '../targets/target-group-member.entity.js';
import { TargetLinkEntity } from '../targets/target-link.entity.js';
import { TargetStateEntity } from '../targets/target-state.entity.js';
import { InitialSchema1764400000000 } from './migrations/1764400000000-initial-schema.js';
import { ReindexResourceAttr1764500000000 } from './migrations/1764500000000-reindex-resource-attr.js';
import { ResourceAttrFullValue1764600000000 } from './migrations/1764600000000-resource-attr-full-value.js';
import { TargetState1764700000000 } from './migrations/1764700000000-target-state.js';

export const ENTITIES = [
  ScimResourceEntity, ResourceAttrEntity, GroupMemberEntity, ChangeEventEntity, TargetLinkEntity, TargetGroupMemberEntity, PushLogEntity,
  TargetStateEntity,
  HrEventEntity, ScheduledChangeEntity, HrEmployeeEntity,
];
export const MIGRATIONS = [InitialSchema1764400000000, ReindexResourceAttr1764500000000, ResourceAttrFullValue1764600000000, TargetState1764700000000, HrEvents1764900000000];

/**
 * TypeORM options from env: PostgreSQL for `postgres://…`, otherwise better-sqlite3 on the file after
 * `sqlite:` (WAL, 5 s busy timeout). Schema changes only through migrations.
 */
export function dataSourceOptions(env: EnvConfig): DataSourceOptions {
  if (!isSqlite(env)) {
    return { type: 'postgres', url: env.databaseUrl, entities: ENTITIES, migrations: MIGRATIONS, extra: { max: 20 } };
  }
  const file = env.databaseUrl.replace(/^sqlite:/, '');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  return {
    type: 'better-sqlite3', database: file, enableWAL: true, timeout: 5000, entities: ENTITIES, migrations: MIGRATIONS,
    // WAL + NORMAL: commits survive a process crash; only an OS crash or power loss can drop the last
    // few. The embedded store is for one process on a laptop or demo; production runs on PostgreSQL.
    prepareDatabase: (db: { pragma(s: string): unknown }) => { db.pragma('synchronous = NORMAL'); },
  };
}
