// Which prebuilt binary a machine needs (napi-rs's platform names such as linux-x64-gnu) and the
// error raised when the native addon cannot be loaded: it names the platform and the package.

import { AnvilError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg: { name: string; napi?: { targets?: string[] } } = require('../package.json');

const ARCH: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm', riscv64gc: 'riscv64' };

/** napi-rs's name for a Rust target triple: `x86_64-unknown-linux-gnu` -> `linux-x64-gnu`. */
export function platformArchABIOfTriple(triple: string): string {
  const [cpu, ...rest] = triple.split('-');
  const arch = ARCH[cpu] ?? cpu;
  if (rest.includes('darwin')) return `darwin-${arch}`;
  if (rest.includes('windows')) return `win32-${arch}-${rest[rest.length - 1]}`;
  if (rest.includes('linux')) return `linux-${arch}-${rest[rest.length - 1]}`;
  return `${rest[rest.length - 1]}-${arch}`;
}

/** The platforms the published package has prebuilt binaries for (package.json `napi.targets`). */
export function prebuiltPlatforms(): string[] {
  return (pkg.napi?.targets ?? []).map(platformArchABIOfTriple);
}

function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/** napi-rs's name for a machine, as the generated loader looks it up. */
export function currentPlatformArchABI(
  platform: string = process.platform,
  arch: string = process.arch,
  musl: () => boolean = isMusl,
): string {
  if (platform === 'linux') return `linux-${arch}-${arch === 'arm' ? 'gnueabihf' : musl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The error thrown when no native binary fits: platform, arch, the package that should provide it. */
export function nativeLoadError(
  cause: unknown,
  platform: string = process.platform,
  arch: string = process.arch,
  platformArchABI: string = currentPlatformArchABI(platform, arch),
): AnvilError {
  const binaryPackage = `${pkg.name}-${platformArchABI}`;
  const prebuilt = prebuiltPlatforms();
  // The generated loader chains one error per place it tried; a failure other than "not found"
  // (a binary that is there but does not load) is the one worth showing.
  const messages = errorChain(cause);
  const reason = messages.find((m) => !/Cannot find (module|native binding)/.test(m)) ?? messages[0] ?? String(cause);
  let advice: string;
  if (!prebuilt.includes(platformArchABI)) {
    advice =
      `There is no prebuilt '${binaryPackage}' package; prebuilt binaries exist for ${prebuilt.join(', ')}. ` +
      `Build Anvil from source instead (needs a Rust toolchain; README, "Set up on a fresh machine").`;
  } else if (installed(binaryPackage)) {
    advice = `The binary comes from the package '${binaryPackage}', which is installed but did not load.`;
  } else {
    advice =
      `The binary comes from the optional dependency '${binaryPackage}', which is not installed: reinstall ` +
      `without --omit=optional/--no-optional (if it persists, delete node_modules and package-lock.json ` +
      `first, https://github.com/npm/cli/issues/4828).`;
  }
  return new AnvilError(
    `${pkg.name}: cannot load the native addon for platform '${platform}', arch '${arch}' (${platformArchABI}). ` +
      `${advice}\nLoader error: ${reason.split('\n')[0]}`,
    { cause },
  );
}

function errorChain(e: unknown): string[] {
  const out: string[] = [];
  for (let c = e as { message?: unknown; cause?: unknown } | undefined; c && out.length < 20; c = c.cause as typeof c) {
    if (typeof c.message === 'string') out.push(c.message);
  }
  return out;
}

function installed(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}
