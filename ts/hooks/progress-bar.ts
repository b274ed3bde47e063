// The terminal progress line LoggerHook shows when stdout is a terminal: MMEngine's ProgressBar
// text (`[>>>>    ] 40/100, 12.3 task/s, elapsed: 3s, ETA:     5s`), redrawn in place with \r.
// While a bar is on screen, any other write to the same stream (a log line) first erases it, so
// log lines never get glued to the bar; the bar comes back at its next update.

/** The stream the bar is drawn on (process.stdout, or a fake one in tests). */
export interface ProgressStream {
  write(chunk: string, ...rest: never[]): unknown;
  isTTY?: boolean;
  /** Terminal width; 80 when unknown. */
  columns?: number;
}

/** Whether a bar should be shown by default: the stream is a terminal and this is not CI. */
export function progressWanted(stream: ProgressStream, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const ci = env.CI;
  const inCI = ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
  return stream.isTTY === true && !inCI;
}

/** Carriage return, then ANSI "erase the whole line". */
export const CLEAR_LINE = '\r\x1b[2K';

/** Timing and text of one bar (MMEngine's ProgressBar.update formatting). */
export class ProgressBar {
  private readonly started: number;

  /**
   * `total` tasks (0: unknown, then only the count is shown); `done` of them were completed before
   * this bar started (a resumed run), so the rate counts only the tasks done since.
   */
  constructor(
    readonly total: number,
    private readonly done = 0,
    private readonly now: () => number = () => performance.now(),
    private readonly barWidth = 50,
  ) {
    this.started = now();
  }

  /** The line for `completed` tasks (no \r), at most `columns - 1` characters wide when a total is known. */
  render(completed: number, columns = 80): string {
    const elapsed = (this.now() - this.started) / 1000;
    const newly = completed - this.done;
    const rate = elapsed > 0 ? newly / elapsed : Infinity;
    const shownRate = Number.isFinite(rate) ? rate.toFixed(1) : 'inf';
    const elapsedText = `elapsed: ${Math.round(elapsed)}s`;
    if (this.total <= 0) return `completed: ${completed}, ${elapsedText}, ${shownRate} tasks/s`;
    const left = Math.max(0, this.total - completed);
    // Nothing timed yet: MMEngine's start line, with no rate and an empty ETA.
    const tail =
      newly > 0
        ? `] ${completed}/${this.total}, ${shownRate} task/s, ${elapsedText}, ETA: ${String(Math.round((elapsed * left) / newly)).padStart(5)}s`
        : `] ${completed}/${this.total}, ${elapsedText}, ETA:`;
    const width = Math.max(2, Math.min(this.barWidth, columns - 1 - tail.length - 1, Math.floor(columns * 0.6)));
    const marks = Math.min(width, Math.floor((width * completed) / this.total));
    return `[${'>'.repeat(marks)}${' '.repeat(width - marks)}${tail}`;
  }
}

/**
 * The one line on `stream` that bars are drawn on. While it exists, `stream.write` is wrapped so
 * that a write from anyone else first erases a visible bar; `dispose` restores the stream.
 */
export class ProgressLine {
  private visible = false;
  private readonly original: ProgressStream['write'];
  private readonly wrapped: ProgressStream['write'];
  /** process.stdout's write is its prototype's: then dispose deletes the wrapper instead of assigning. */
  private readonly ownWrite: boolean;

  constructor(private readonly stream: ProgressStream) {
    this.original = stream.write;
    this.ownWrite = Object.prototype.hasOwnProperty.call(stream, 'write');
    const line = this;
    this.wrapped = function (this: unknown, ...args: Parameters<ProgressStream['write']>) {
      line.clear();
      return line.original.apply(line.stream, args);
    };
    stream.write = this.wrapped;
  }

  /** Draws `text` in place of the current bar. */
  show(text: string): void {
    this.original.call(this.stream, (this.visible ? CLEAR_LINE : '\r') + text);
    this.visible = true;
  }

  /** Erases the bar if one is shown. */
  clear(): void {
    if (!this.visible) return;
    this.visible = false;
    this.original.call(this.stream, CLEAR_LINE);
  }

  get columns(): number {
    return this.stream.columns ?? 80;
  }

  /** Erases the bar and gives the stream its own write back. */
  dispose(): void {
    this.clear();
    if (this.stream.write !== this.wrapped) return;
    if (this.ownWrite) this.stream.write = this.original;
    else delete (this.stream as { write?: unknown }).write;
  }
}
