import { DataSource } from 'typeorm';
import { loadEnv } from '../config/env.js';
import { dataSourceOptions } from './data-source.js';

/** For the TypeORM CLI only: `npx typeorm migration:show -d dist/src/db/cli-data-source.js`. */
export default new DataSource(dataSourceOptions(loadEnv()));
