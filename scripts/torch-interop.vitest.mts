// vitest config for scripts/torch-interop.test.ts alone (run by scripts/torch-interop.sh; the
// default config collects test/ only, so the default run never needs libtorch).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['scripts/torch-interop.test.ts'],
    testTimeout: 120_000,
  },
});
