import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Group membership, one row per member, so one add/remove is O(1) (DESIGN.md, Store). */
@Entity('group_member')
@Index('IDX_group_member_member', ['memberId'])
export class GroupMemberEntity {
  @PrimaryColumn({ name: 'group_id', type: 'varchar', length: 36 }) groupId!: string;
  @PrimaryColumn({ name: 'member_id', type: 'varchar', length: 36 }) memberId!: string;
  @Column({ name: 'member_type', type: 'varchar', length: 16, default: 'User' }) memberType!: string;
}
