// The run's logger: MMEngine-style prefixed lines to the terminal and to the run's log file.

import * as fs from 'node:fs';

let current: Logger | null = null;

/** MMEngine's `MMLogger.get_current_instance()`: the logger of the loop running now, else null. */
export function currentLogger(): Logger | null {
  return current;
}

/** Runs `fn` with `logger` as the current logger (metrics and hooks print their tables through it). */
export function withCurrentLogger<T>(logger: Logger, fn: () => T): T {
  const previous = current;
  current = logger;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export class Logger {
  constructor(
    private readonly file: string | null,
    private readonly echo: (line: string) => void = (line) => console.log(line),
  ) {}

  info(message: string): void {
    this.write('INFO', message);
  }

  warn(message: string): void {
    this.write('WARNING', message);
  }

  private write(level: string, message: string): void {
    const now = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    const stamp = `${p(now.getMonth() + 1)}/${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
    const line = `${stamp} - anvil - ${level} - ${message}`;
    this.echo(line);
    if (this.file) fs.appendFileSync(this.file, line + '\n');
  }
}
