/* eslint-disable */
/**
 * Lets a child `node` process run the TypeScript sources directly (`node -r ./test/utils/swc-register.cjs
 * src/cli/switchboard.ts worker`), compiled on load by @swc/core with the same options as jest.config.js,
 * so multi-process tests need no `nest build`. Relative `./x.js` imports resolve to `./x.ts` as in jest's
 * moduleNameMapper.
 */
const Module = require('node:module');
const fs = require('node:fs');
const swc = require('@swc/core');

const options = {
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
  },
};

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, parent, ...rest) {
  if (/^\.{1,2}\/.*\.js$/.test(request) && parent && parent.filename && parent.filename.endsWith('.ts')) {
    try {
      return resolve.call(this, request.replace(/\.js$/, '.ts'), parent, ...rest);
    } catch {
      // a real .js file next to the .ts sources
    }
  }
  return resolve.call(this, request, parent, ...rest);
};
