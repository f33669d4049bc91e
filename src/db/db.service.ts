import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Mutex } from '../common/mutex.js';

/**
 * The data source plus the one way to open a write transaction. better-sqlite3 is a single connection,
 * so SQLite transactions are serialised here (two interleaved BEGINs would fail); PostgreSQL runs them
 * concurrently.
 */
@Injectable()
export class DbService {
  private readonly sqliteWrites = new Mutex();

  constructor(readonly dataSource: DataSource) {}

  get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  /** Runs `fn` in one transaction; rolls back when it throws. */
  transaction<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return this.dataSource.transaction(fn);
    return this.sqliteWrites.run(() => this.dataSource.transaction(fn));
  }

  /** Runs a short non-transactional write; on SQLite, serialised with transactions. */
  write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return fn(this.dataSource.manager);
    return this.sqliteWrites.run(() => fn(this.dataSource.manager));
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }
}
