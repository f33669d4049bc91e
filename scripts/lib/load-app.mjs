import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The built config module, or null before `npm run build`. A dist/ that doesn't load is a failure, not a skip. */
export function loadApp(path) {
  if (!existsSync(path)) return null;
  try {
    require('reflect-metadata'); // the app's main does this first; its decorators need it
    return require(path);
  } catch (e) {
    console.error(`FAIL cannot load ${path} (rebuild, or delete dist/): ${e.message.split('\n')[0]}`);
    process.exit(1);
  }
}
