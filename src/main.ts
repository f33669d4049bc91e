import 'reflect-metadata';
import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { hrRawBody } from './hr/raw-body.middleware.js';
import { TokenStore } from './auth/token-store.js';
import { AppConfig, loadConfig } from './config/app-config.js';
import { ConfigError } from './config/config.error.js';
import { isSqlite, Role } from './config/env.js';
import { mountAdminOpenApi } from './ops/admin/openapi.js';
import { RoutingExceptionFilter } from './ops/admin/problem.filter.js';
import { ScimExceptionFilter } from './scim/scim-exception.filter.js';
import { ERROR_SCHEMA, SCIM_MEDIA_TYPE } from './scim/scim.constants.js';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** A running Switchboard process. */
export interface RunningSwitchboard {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` the HTTP listener is bound to. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  /** Defaults to loadConfig() from the environment. */
  config?: AppConfig;
  /** Overrides env PORT / HEALTH_PORT (0 = any free port). The worker role listens on HEALTH_PORT for probes. */
  port?: number;
  host?: string;
}

/**
 * Starts one process in a role. SQLite is single-process: `api`/`worker` on SQLite refuse to start.
 * Throws ConfigError for bad configuration (the CLI prints it and exits 1).
 */
export async function startSwitchboard(opts: StartOptions): Promise<RunningSwitchboard> {
  const config = opts.config ?? loadConfig();
  if (opts.role !== 'all' && isSqlite(config.env)) {
    throw new ConfigError('environment', [
      `role "${opts.role}" needs PostgreSQL (DATABASE_URL=postgres://…): the embedded SQLite store serves one process only — use role "all"`,
    ]);
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRole(opts.role, config), { bufferLogs: true, rawBody: true });
  app.useLogger(app.get(Logger));
  // HR webhooks are verified over their raw bytes: read them before any body parser (src/hr/raw-body.middleware.ts).
  app.use('/hr/webhooks', hrRawBody);
  app.useBodyParser('json', { type: ['application/json', 'application/scim+json', 'application/*+json'], limit: '10mb' });
  // Preview takes a target block as YAML text too.
  app.useBodyParser('text', { type: ['application/yaml', 'application/x-yaml', 'text/yaml'], limit: '1mb' });
  // /admin errors are problem details (RFC 9457); everything else keeps SCIM Errors.
  app.useGlobalFilters(new RoutingExceptionFilter(new ScimExceptionFilter()));
  if (opts.role !== 'worker') mountAdminOpenApi(app, process.env.npm_package_version ?? '0.1.0');
  app.set('trust proxy', 'loopback');
  const missing = TokenStore.missingTokens(config);
  if (missing.length) new NestLogger('Switchboard').warn(`SCIM clients without a token in the environment (they cannot sign in): ${missing.join(', ')}`);
  // The worker serves only probes, on HEALTH_PORT, so it can share a pod network with an api.
  answerClientErrorsAsScim(app.getHttpServer());
  const port = opts.port ?? (opts.role === 'worker' ? config.env.healthPort : config.env.port);
  await app.listen(port, opts.host ?? '0.0.0.0');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      // BullMQ close hangs forever when Redis is unreachable (stack-notes §3): bound it.
      await Promise.race([app.close(), new Promise(r => setTimeout(r, 15_000).unref())]);
    },
  };
}

/**
 * Requests Node rejects before Express sees them (headers or URL over ~16 KB → 431, malformed HTTP →
 * 400) get a SCIM Error body too, so an IdP sending a huge filter in the URL learns to use POST .search.
 */
function answerClientErrorsAsScim(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const detail = tooLarge ? 'Request headers or URL too large: send long filters with POST /.search (RFC 7644 §3.4.3)' : 'Malformed HTTP request';
    const body = JSON.stringify({ schemas: [ERROR_SCHEMA], status: String(status), detail });
    socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: ${SCIM_MEDIA_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
