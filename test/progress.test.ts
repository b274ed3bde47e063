// LoggerHook's progress bar: MMEngine's ProgressBar text, drawn in place on a terminal, erased
// before any other line is written to it; without a terminal (or under CI) nothing changes.

import { describe, expect, it } from 'vitest';

import { LoggerHook, Runner } from '../ts';
import { CLEAR_LINE, ProgressBar, ProgressLine, progressWanted, type ProgressStream } from '../ts/hooks/progress-bar';

/** A fake terminal: records every write. */
class FakeTerminal implements ProgressStream {
  readonly chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 120,
  ) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** What a terminal shows after `text`: \r returns to column 0, ESC[2K erases the line, \n ends it. */
function screen(text: string): string[] {
  const lines: string[] = [];
  let cur: string[] = [];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('\x1b[2K', i)) {
      cur = [];
      i += 3;
    } else if (text[i] === '\r') col = 0;
    else if (text[i] === '\n') {
      lines.push(cur.join(''));
      cur = [];
      col = 0;
    } else cur[col++] = text[i];
  }
  if (cur.length) lines.push(cur.join(''));
  return lines;
}

describe('ProgressBar text (MMEngine ProgressBar.update)', () => {
  it('draws the bar, count, rate, elapsed time and a five-wide ETA', () => {
    let t = 0;
    const bar = new ProgressBar(100, 0, () => t);
    t = 4000;
    expect(bar.render(40, 120)).toBe(`[${'>'.repeat(20)}${' '.repeat(30)}] 40/100, 10.0 task/s, elapsed: 4s, ETA:     6s`);
    t = 10_000;
    expect(bar.render(100, 120)).toBe(`[${'>'.repeat(50)}] 100/100, 10.0 task/s, elapsed: 10s, ETA:     0s`);
  });

  it('times only the tasks done since it started (a resumed run); nothing timed yet shows no rate', () => {
    let t = 0;
    const bar = new ProgressBar(10, 4, () => t);
    expect(bar.render(4, 120)).toMatch(/^\[>{20} {30}\] 4\/10, elapsed: 0s, ETA:$/);
    t = 2000;
    expect(bar.render(6, 120)).toMatch(/\] 6\/10, 1\.0 task\/s, elapsed: 2s, ETA:     4s$/);
    // An 80-column terminal: the bar shrinks so the line fits, 60% of it marked.
    const narrow = bar.render(6);
    expect(narrow.length).toBeLessThan(80);
    const [, marks, blanks] = narrow.match(/^\[(>*)( *)\] 6\/10,/)!;
    expect(marks.length).toBe(Math.floor((marks.length + blanks.length) * 0.6));
  });

  it('fits a narrow terminal; an unknown total shows the count only', () => {
    let t = 0;
    const bar = new ProgressBar(100, 0, () => t);
    t = 1000;
    const line = bar.render(50, 60);
    expect(line.length).toBeLessThan(60);
    expect(line).toMatch(/^\[>+ +\] 50\/100, 50\.0 task\/s, elapsed: 1s, ETA:     1s$/);
    expect(new ProgressBar(0, 0, () => t).render(7)).toBe('completed: 7, elapsed: 0s, inf tasks/s');
  });
});

describe('when a bar is shown', () => {
  it('on a terminal outside CI only', () => {
    expect(progressWanted({ isTTY: true, write: () => true }, {})).toBe(true);
    expect(progressWanted({ isTTY: true, write: () => true }, { CI: 'true' })).toBe(false);
    expect(progressWanted({ isTTY: true, write: () => true }, { CI: '1' })).toBe(false);
    expect(progressWanted({ isTTY: true, write: () => true }, { CI: 'false' })).toBe(true);
    expect(progressWanted({ isTTY: false, write: () => true }, {})).toBe(false);
    expect(progressWanted({ write: () => true }, {})).toBe(false);
  });

  it('the line erases a visible bar before anyone else writes, and dispose gives write back', () => {
    const term = new FakeTerminal(true);
    const ownWrite = term.write;
    const line = new ProgressLine(term);
    term.write('log 1\n'); // no bar yet: written as is
    line.show('[>   ] 1/4');
    line.show('[>>  ] 2/4');
    term.write('log 2\n');
    line.show('[>>> ] 3/4');
    line.dispose();
    expect(term.chunks).toEqual(['log 1\n', '\r[>   ] 1/4', `${CLEAR_LINE}[>>  ] 2/4`, CLEAR_LINE, 'log 2\n', '\r[>>> ] 3/4', CLEAR_LINE]);
    expect(screen(term.text)).toEqual(['log 1', 'log 2']);
    expect(term.write).toBe(ownWrite);
    // A stream whose write is its prototype's gets the prototype's back (no own property left).
    class Proto implements ProgressStream {
      write(): boolean {
        return true;
      }
    }
    const p = new Proto();
    new ProgressLine(p).dispose();
    expect(Object.prototype.hasOwnProperty.call(p, 'write')).toBe(false);
  });
});

describe('LoggerHook with a progress bar', () => {
  /** 200 MNIST samples in batches of 50, 8 iterations, validation (2 batches) every 4. */
  function run(term: FakeTerminal, progress?: boolean) {
    const logLines: string[] = [];
    const evalLoader = { batch_size: 100, dataset: { type: 'MNIST', split: 'test', limit: 200 } };
    const runner = Runner.fromConfig(
      {
        model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [8], num_classes: 10 },
        train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 200 } },
        train_cfg: { by_epoch: false, max_iters: 8, val_interval: 4 },
        val_dataloader: evalLoader,
        val_evaluator: { type: 'Accuracy' },
        optim_wrapper: { optimizer: { type: 'AdamW', lr: 1e-3 } },
        default_hooks: { logger: new LoggerHook({ interval: 3, progressStream: term, progress }) },
      },
      {
        workDir: null,
        // The log lines go to the same terminal, as console.log would.
        echo: (l) => {
          logLines.push(l);
          term.write(l + '\n');
        },
      },
    );
    runner.train();
    return logLines;
  }

  it('draws training and validation bars in place and erases them before each log line', () => {
    const term = new FakeTerminal(true);
    const logLines = run(term, true);
    // What stays on screen is exactly the log, line by line: no bar glued to a log line, none left.
    expect(screen(term.text)).toEqual(logLines.flatMap((l) => l.split('\n')));
    // The bars drawn: training 1..8 of 8 (the first only starts the clock), validation 1..2 of 2 twice.
    const bars = term.chunks.filter((c) => /^(\r|\x1b\[2K)+\[/.test(c)).map((c) => c.replace(/^(\r|\x1b\[2K)+/, ''));
    const train = bars.filter((b) => /\] \d\/8,/.test(b)).map((b) => b.match(/\] (\d)\/8/)![1]);
    expect(train).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(bars.filter((b) => /\] \d\/2,/.test(b)).map((b) => b.match(/\] (\d)\/2/)![1])).toEqual(['1', '2', '1', '2']);
    expect(bars[0]).toMatch(/^\[>{6} +\] 1\/8, elapsed: \d+s, ETA:$/);
    for (const b of bars.filter((x) => /\] [2-8]\/8/.test(x))) expect(b).toMatch(/^\[>+ *\] \d\/8, \d+\.\d task\/s, elapsed: \d+s, ETA: +\d+s$/);
    // Each log line written while a bar was visible came right after an erase.
    for (let i = 1; i < term.chunks.length; i++) {
      if (term.chunks[i].includes(' - anvil - ') && /\[>/.test(term.chunks[i - 1])) throw new Error(`log line written over a bar: ${JSON.stringify(term.chunks[i])}`);
    }
    expect(term.chunks.at(-1)).toMatch(/Run finished\n$/);
  });

  it('without a terminal the output is the plain log lines only', () => {
    const term = new FakeTerminal(false);
    const logLines = run(term);
    expect(term.text).toBe(logLines.map((l) => l + '\n').join(''));
    expect(new LoggerHook({ progressStream: term }).progress).toBe(false);
    expect(() => new LoggerHook({ progress: 'yes' as unknown as boolean })).toThrow(/LoggerHook: progress must be a boolean, got "yes"/);
  });
});
