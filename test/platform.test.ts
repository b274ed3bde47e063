// Which prebuilt binary a machine needs and the error when none fits (ts/platform.ts): the names
// must be the ones napi-rs's CLI gives the per-platform packages, or the error points nowhere.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTriple } from '@napi-rs/cli';
import { describe, expect, it } from 'vitest';

import { currentPlatformArchABI, nativeLoadError, platformArchABIOfTriple, prebuiltPlatforms } from '../ts/platform';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));

describe('platform names', () => {
  it('match napi-rs for every declared target (and a few more)', () => {
    const triples = [...pkg.napi.targets, 'x86_64-unknown-linux-musl', 'aarch64-pc-windows-msvc', 'armv7-unknown-linux-gnueabihf', 'i686-pc-windows-msvc'];
    for (const triple of triples) expect(platformArchABIOfTriple(triple), triple).toBe(parseTriple(triple).platformArchABI);
    expect(prebuiltPlatforms()).toEqual(['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc']);
  });

  it('name this kind of machine as the generated loader does', () => {
    expect(currentPlatformArchABI('linux', 'x64', () => false)).toBe('linux-x64-gnu');
    expect(currentPlatformArchABI('linux', 'arm64', () => true)).toBe('linux-arm64-musl');
    expect(currentPlatformArchABI('darwin', 'arm64')).toBe('darwin-arm64');
    expect(currentPlatformArchABI('win32', 'x64')).toBe('win32-x64-msvc');
  });
});

describe('native load error', () => {
  const cause = new Error('Cannot find native binding.');

  it('names platform, arch and the missing optional package for a prebuilt platform', () => {
    const e = nativeLoadError(cause, 'darwin', 'arm64', 'darwin-arm64');
    expect(e.message).toContain("platform 'darwin', arch 'arm64'");
    expect(e.message).toContain("optional dependency 'anvil-train-darwin-arm64', which is not installed");
    expect(e.message).toContain('Loader error: Cannot find native binding.');
    expect(e.cause).toBe(cause);
  });

  it('shows the failure of a binary that is there but does not load', () => {
    const chain = Object.assign(new Error('Cannot find native binding.'), {
      cause: Object.assign(new Error("Cannot find module 'anvil-train-linux-x64-gnu'"), {
        cause: new Error('/lib/libc.so.6: version `GLIBC_2.99\' not found'),
      }),
    });
    const e = nativeLoadError(chain, 'linux', 'x64', 'linux-x64-gnu');
    expect(e.message).toContain('Loader error: /lib/libc.so.6: version `GLIBC_2.99\' not found');
  });

  it('lists the prebuilt platforms and points to a source build otherwise', () => {
    const e = nativeLoadError(cause, 'freebsd', 'x64', 'freebsd-x64');
    expect(e.message).toContain("no prebuilt 'anvil-train-freebsd-x64' package");
    expect(e.message).toContain('linux-x64-gnu, linux-arm64-gnu, darwin-x64, darwin-arm64, win32-x64-msvc');
    expect(e.message).toContain('Build Anvil from source');
  });
});
