import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { TokenStore } from './auth/token-store.js';
import { APP_CONFIG, AppConfig } from './config/app-config.js';
import { dataSourceOptions } from './db/data-source.js';
import { DbService } from './db/db.service.js';
import { OwnershipPolicy } from './identity/ownership.js';
import { ResourceService } from './identity/resource.service.js';
import { MetricsService } from './ops/metrics.service.js';
import { SchemaRegistry } from './scim/schema/schema-registry.js';

/**
 * What every role shares: config, logger, the store and its one write path, and the one SchemaRegistry
 * (core schemas plus the custom extensions of `schemas:`) that writes index and SCIM reads resolve with.
 * Migrations run at start.
 */
@Global()
@Module({})
export class CoreModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.env.logLevel,
            autoLogging: config.env.logLevel === 'debug' || config.env.logLevel === 'trace',
            redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
          },
        }),
        TypeOrmModule.forRoot({ ...dataSourceOptions(config.env), migrationsRun: true }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: TokenStore, useFactory: () => new TokenStore(config) },
        { provide: SchemaRegistry, useFactory: () => new SchemaRegistry(config.schemas) },
        DbService,
        ResourceService,
        OwnershipPolicy,
        MetricsService,
      ],
      exports: [APP_CONFIG, TokenStore, SchemaRegistry, DbService, ResourceService, OwnershipPolicy, MetricsService],
    };
  }
}
