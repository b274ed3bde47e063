// `npm run pack:local`: packs the main package and this machine's platform package into
// .pack/*.tgz the way a release does (napi-rs layout), after `npm run build`; prints their sizes.
//
// A release runs `napi create-npm-dirs`, `napi artifacts` and `napi prepublish` over the binaries
// of every target in package.json `napi.targets`. Here only the host's binary exists, and the last
// two refuse a partial set, so this script does their per-target work for the host target only:
// it copies the binary into npm/<platform>/ and writes the root `optionalDependencies` for all
// targets exactly as `napi prepublish` does. The repository's package.json is never modified: the
// main package is staged in .pack/stage/ from the file list `npm pack` computes from `files`.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readNapiConfig } from '@napi-rs/cli';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.pack');
const STAGE = path.join(OUT, 'stage');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Paths that must never be in the main package: sources, Rust, build trees, tests, binaries. */
const FORBIDDEN = [/^ts\//, /^test\//, /^crates\//, /^target\//, /^native\/src\//, /Cargo\.(toml|lock)$/, /\.node$/, /\.map$/, /^docs\//, /^\.pack\//, /^scripts\//];

function npm(args, cwd) {
  // Windows runs npm.cmd, which Node only spawns through a shell.
  return execFileSync(NPM, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
}

/** `npm pack --json` (lifecycle scripts off: the build already ran) -> { filename, size, unpackedSize, files }. */
function pack(dir, extra = []) {
  return JSON.parse(npm(['pack', '--json', '--ignore-scripts', ...extra], dir))[0];
}

/** Section names of an ELF shared object (to show the binary carries no debug info or symbol table). */
function elfSections(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return null; // not ELF64
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const strtab = shoff + b.readUInt16LE(0x3e) * shentsize;
  const strOff = Number(b.readBigUInt64LE(strtab + 0x18));
  const names = [];
  for (let i = 0; i < shnum; i++) {
    const nameOff = b.readUInt32LE(shoff + i * shentsize);
    const end = b.indexOf(0, strOff + nameOff);
    names.push(b.toString('latin1', strOff + nameOff, end));
  }
  return names;
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function main() {
  const { packageJson, targets, packageName, binaryName } = await readNapiConfig(path.join(ROOT, 'package.json'));
  const host = targets.find((t) => t.platform === process.platform && t.arch === process.arch && t.abi !== 'musl');
  if (!host) throw new Error(`pack:local: no target in napi.targets for ${process.platform}-${process.arch}`);
  const binary = path.join(ROOT, 'native', `${binaryName}.${host.platformArchABI}.node`);
  if (!fs.existsSync(binary)) throw new Error(`pack:local: ${path.relative(ROOT, binary)} is missing (npm run build:native)`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.mjs'))) throw new Error('pack:local: dist/ is not built (npm run build:ts)');

  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(path.join(STAGE, 'main'), { recursive: true });

  // 1. The main package's file list, as `npm publish` would compute it from package.json `files`.
  const listed = pack(ROOT, ['--dry-run']).files.map((f) => f.path);
  const bad = listed.filter((f) => FORBIDDEN.some((re) => re.test(f)));
  if (bad.length > 0) throw new Error(`pack:local: the main package would ship ${bad.join(', ')}: fix package.json "files"`);
  for (const f of listed) {
    fs.mkdirSync(path.dirname(path.join(STAGE, 'main', f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(STAGE, 'main', f));
  }

  // 2. The root optionalDependencies, one per declared target, as `napi prepublish` writes them.
  const optionalDependencies = { ...packageJson.optionalDependencies };
  for (const t of targets) optionalDependencies[`${packageName}-${t.platformArchABI}`] = packageJson.version;
  const staged = JSON.parse(fs.readFileSync(path.join(STAGE, 'main', 'package.json'), 'utf8'));
  staged.optionalDependencies = optionalDependencies;
  // `prepare` builds from source in a clone; a consumer must not see it (npm 11 flags it as an
  // install script). The release workflow deletes it before publishing too.
  delete staged.scripts.prepare;
  fs.writeFileSync(path.join(STAGE, 'main', 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);

  // 3. Per-platform package folders from the CLI (npm/<platform>/package.json), then the binary
  //    into the host's folder, as `napi artifacts` does.
  //    The release workflow copies LICENSE the same way (npm always packs a LICENSE file).
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'), 'create-npm-dirs', '--cwd', path.join(STAGE, 'main')], { stdio: 'pipe' });
  const platformDir = path.join(STAGE, 'main', 'npm', host.platformArchABI);
  fs.copyFileSync(binary, path.join(platformDir, path.basename(binary)));
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(platformDir, 'LICENSE'));

  // 4. Tarballs; the main package is packed without npm/ (not in `files`).
  const results = [pack(platformDir, ['--pack-destination', OUT]), pack(path.join(STAGE, 'main'), ['--pack-destination', OUT])];
  fs.rmSync(STAGE, { recursive: true, force: true });

  const sections = elfSections(binary);
  const debug = sections?.filter((s) => s.startsWith('.debug') || s === '.symtab') ?? [];
  if (debug.length > 0) throw new Error(`pack:local: ${path.basename(binary)} carries ${debug.join(', ')} (release profile should strip)`);

  console.log('pack:local tarballs (.pack/):');
  for (const r of results) {
    console.log(`  ${r.filename.padEnd(40)} ${kib(r.size).padStart(11)} packed  ${kib(r.unpackedSize).padStart(11)} unpacked  ${String(r.files.length).padStart(3)} files`);
  }
  if (sections) console.log(`  ${path.basename(binary)}: stripped (no .symtab, no .debug_* sections)`);
  const summary = {
    platformPackage: `${packageName}-${host.platformArchABI}`,
    binary: path.basename(binary),
    tarballs: results.map((r) => ({ name: r.name, filename: r.filename, size: r.size, unpackedSize: r.unpackedSize })),
  };
  fs.writeFileSync(path.join(OUT, 'tarballs.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
