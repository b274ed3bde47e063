// The README's TypeScript example, run as written (only the package import is pointed at the
// sources), so the documented usage cannot drift from the API.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const root = path.resolve(__dirname, '..');

function readmeExample(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const match = readme.match(/```ts\n([\s\S]*?)```/);
  if (!match) throw new Error('README.md has no ```ts example');
  return match[1];
}

describe('README TypeScript example', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs as pasted and trains the toy problem', async () => {
    const source = readmeExample().replace(/from 'anvil-train'/g, `from ${JSON.stringify(path.join(root, 'ts', 'index'))}`);
    const dir = path.join(root, 'test', '.tmp');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `readme-example-${process.pid}.ts`);
    fs.writeFileSync(file, source);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    try {
      await import(file);
    } finally {
      fs.rmSync(file, { force: true });
    }
    const losses = lines.filter((l) => l.startsWith('iter')).map((l) => Number(l.split('loss ')[1]));
    expect(losses).toHaveLength(4);
    expect(losses[3]).toBeLessThan(losses[0]);
    expect(losses[3]).toBeLessThan(0.05);
    expect(lines).toContain('predictions 1 1 1 1 0 0 0 0');
    const w = lines.find((l) => l.startsWith('w after one SGD step'))!.split('step ')[1].split(',').map(Number);
    expect(w[0]).toBeCloseTo(0.9, 6);
    expect(w[1]).toBeCloseTo(1.9, 6);
    expect(w[2]).toBeCloseTo(2.9, 6);
  });
});
