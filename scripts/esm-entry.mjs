// Writes the ESM entry of the package next to the CommonJS build: dist/index.mjs re-exports
// dist/index.js (one module instance for `import` and `require`), dist/index.d.mts its types.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const header = '// ESM entry of anvil-train, written by scripts/esm-entry.mjs: the CommonJS build re-exported.\n';

// Node finds the named exports of the CommonJS build statically (cjs-module-lexer); the packed
// install test checks that every CommonJS export is reachable through `import`.
writeFileSync(join(dist, 'index.mjs'), `${header}export * from './index.js';\nexport { default } from './index.js';\n`);
writeFileSync(
  join(dist, 'index.d.mts'),
  `${header}export * from './index.js';\ndeclare const anvil: typeof import('./index.js');\nexport default anvil;\n`,
);
