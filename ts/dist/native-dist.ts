// Which addon carries a backend: NCCL is in the default addon (libnccl loaded at run time); MPI
// only in the separate MPI build (native/mpi/, `npm run build:native:mpi`), so installs that never
// use MPI never load libmpi. The MPI build is loaded RTLD_GLOBAL: Open MPI's plugins resolve
// libmpi's symbols from the global namespace.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import type { Backend, DistNative } from './collective';

/** Where `npm run build:native:mpi` writes the MPI build (ts/dist and dist/dist both sit two levels down). */
export const MPI_ADDON_DIR = path.resolve(__dirname, '..', '..', 'native', 'mpi');

/** The MPI build's .node file, or null when it was not built. */
export function mpiAddonPath(dir: string = MPI_ADDON_DIR): string | null {
  if (!fs.existsSync(dir)) return null;
  const file = fs.readdirSync(dir).find((f) => /^anvil\..+\.node$/.test(f));
  return file ? path.join(dir, file) : null;
}

let mpiAddon: DistNative | null = null;

export function loadDistNative(backend: Backend): DistNative {
  if (backend === 'nccl') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../native') as typeof import('../native')).native;
  }
  if (mpiAddon) return mpiAddon;
  const file = mpiAddonPath();
  if (!file) {
    throw new AnvilError(
      `backend 'mpi' needs the MPI build of the native addon, not found in ${MPI_ADDON_DIR}: run \`npm run build:native:mpi\` (needs an MPI such as Debian's openmpi-bin and libopenmpi-dev, and libclang-dev)`,
    );
  }
  const mod = { exports: {} as DistNative };
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL;
  try {
    process.dlopen(mod, file, flags);
  } catch (e) {
    throw new AnvilError(`backend 'mpi': cannot load ${file}: ${(e as Error).message} (is the MPI library it was built against still installed?)`);
  }
  mpiAddon = mod.exports;
  return mpiAddon;
}
