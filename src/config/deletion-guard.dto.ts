import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * `deletionGuard` of a target: how many deprovisions (disable or delete, of distinct resources) may
 * happen within a sliding window before the target is quarantined until an operator approves or rejects.
 */
export class DeletionGuardDto {
  @IsOptional() @IsBoolean() enabled?: boolean;
  /** Quarantine when more than this many distinct resources would be deprovisioned in the window. */
  @IsOptional() @IsInt() @Min(0) maxDeprovisions?: number;
  /** …or more than this percentage of the target's linked users. */
  @IsOptional() @IsInt() @Min(0) @Max(100) maxPercent?: number;
  /** The percentage rule applies only from this many linked users on (1 of 5 is 20 %, not a mass deletion). */
  @IsOptional() @IsInt() @Min(0) minLinkedForPercent?: number;
  /** Sliding window, minutes. */
  @IsOptional() @IsInt() @Min(1) @Max(10080) windowMinutes?: number;
}

/** The guard after defaults (50 deprovisions or 10 % of linked users within 60 minutes, from 100 linked users on). */
export interface DeletionGuardConfig {
  enabled: boolean;
  maxDeprovisions: number;
  maxPercent: number;
  minLinkedForPercent: number;
  windowMinutes: number;
}

/** Applies the defaults. */
export function normaliseDeletionGuard(dto: DeletionGuardDto | undefined): DeletionGuardConfig {
  return {
    enabled: dto?.enabled ?? true,
    maxDeprovisions: dto?.maxDeprovisions ?? 50,
    maxPercent: dto?.maxPercent ?? 10,
    minLinkedForPercent: dto?.minLinkedForPercent ?? 100,
    windowMinutes: dto?.windowMinutes ?? 60,
  };
}
