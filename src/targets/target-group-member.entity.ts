import { Entity, Index, PrimaryColumn } from 'typeorm';

/** Group membership as last pushed to a target; deltas are computed against it (DESIGN.md, Store). */
@Entity('target_group_member')
@Index('IDX_target_group_member_member', ['targetId', 'memberId'])
export class TargetGroupMemberEntity {
  @PrimaryColumn({ name: 'target_id', type: 'varchar', length: 64 }) targetId!: string;
  @PrimaryColumn({ name: 'group_id', type: 'varchar', length: 36 }) groupId!: string;
  @PrimaryColumn({ name: 'member_id', type: 'varchar', length: 36 }) memberId!: string;
}
