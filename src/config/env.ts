import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { ConfigError } from './config.error.js';

/** Process roles: `api` serves HTTP, `worker` runs queues, `all` does both in one process. */
export type Role = 'api' | 'worker' | 'all';

/** Environment variables Switchboard reads. Only `config/` reads `process.env`. */
export class EnvDto {
  @IsOptional() @Matches(/^(postgres(ql)?:\/\/|sqlite:)/, { message: 'DATABASE_URL must start with postgres:// or sqlite:' })
  DATABASE_URL?: string;

  @IsOptional() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must start with redis:// or rediss://' })
  REDIS_URL?: string;

  // Decorators run bottom-up and only the first failure is reported: IsInt last, so `abc` reads "must be an integer".
  @IsOptional() @Type(() => Number) @Max(65535) @Min(0) @IsInt({ message: '$property must be an integer (0-65535)' })
  PORT?: number;

  @IsOptional() @Type(() => Number) @Max(65535) @Min(0) @IsInt({ message: '$property must be an integer (0-65535)' })
  HEALTH_PORT?: number;

  @IsOptional() @IsString()
  SWITCHBOARD_CONFIG?: string;

  @IsOptional() @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'QUEUE_PREFIX may hold letters, digits, _ . - only' })
  QUEUE_PREFIX?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional() @IsString()
  PUBLIC_BASE_URL?: string;
}

/** Typed environment after validation and defaults. */
export interface EnvConfig {
  /** `postgres://…` for PostgreSQL; undefined or `sqlite:<file>` for the embedded SQLite store. */
  databaseUrl: string;
  redisUrl: string;
  port: number;
  /** Port of the worker role's probe and metrics listener (`/health/*`). */
  healthPort: number;
  configPath: string;
  queuePrefix: string;
  logLevel: string;
  /** Base for SCIM `meta.location`; defaults to the request's own host. */
  publicBaseUrl?: string;
}

/** Names of env vars whose values must never be logged. */
export const SENSITIVE_ENV_KEYS = ['DATABASE_URL', 'REDIS_URL'];

/**
 * Validates the environment once. Throws one ConfigError naming every bad variable (never its value).
 */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const dto = plainToInstance(EnvDto, { ...env }, { enableImplicitConversion: false });
  const errors = validateSync(dto, { whitelist: false, forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length) {
    throw new ConfigError('environment', errors.flatMap(e => Object.values(e.constraints ?? {}).map(m => `${e.property}: ${m}`)));
  }
  return {
    databaseUrl: dto.DATABASE_URL || 'sqlite:./var/switchboard.sqlite',
    redisUrl: dto.REDIS_URL || 'redis://127.0.0.1:6379',
    port: dto.PORT ?? 8080,
    healthPort: dto.HEALTH_PORT ?? 9464,
    configPath: dto.SWITCHBOARD_CONFIG || './switchboard.yaml',
    queuePrefix: dto.QUEUE_PREFIX || 'switchboard',
    logLevel: dto.LOG_LEVEL || 'info',
    publicBaseUrl: dto.PUBLIC_BASE_URL?.replace(/\/$/, ''),
  };
}

/** True when the store is SQLite (single-process roles only). */
export function isSqlite(env: EnvConfig): boolean {
  return !/^postgres(ql)?:\/\//.test(env.databaseUrl);
}
