// Python tokenizer for config files: names, numbers in every notation, all string forms,
// operators, and the NEWLINE/INDENT/DEDENT structure (brackets and backslashes join lines).

import { ConfigError } from '../errors';
import type { Loc } from './ast';

export type TokenKind = 'NAME' | 'NUMBER' | 'STRING' | 'OP' | 'NEWLINE' | 'INDENT' | 'DEDENT' | 'EOF';

export interface StringPart {
  /** Lower-cased prefix letters: '', 'r', 'f', 'rf', 'b', ... */
  prefix: string;
  /** Offsets of the text between the quotes in the source. */
  bodyStart: number;
  bodyEnd: number;
  /** Decoded value for a non-f string. */
  value: string;
}

export interface Token {
  kind: TokenKind;
  /** The source text: the name, operator, number literal; '' for structural tokens. */
  text: string;
  loc: Loc;
  start: number;
  end: number;
  /** For NUMBER: bigint for an int, number for a float. */
  number?: bigint | number;
  str?: StringPart;
}

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);

export function isKeyword(name: string): boolean {
  return KEYWORDS.has(name);
}

const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=', '**', '//', '<<', '>>', '<=', '>=', '==', '!=', '+=', '-=', '*=', '/=',
  '%=', '&=', '|=', '^=', '@=', '+', '-', '*', '/', '%', '@', '&', '|', '^', '~', '<', '>', '(', ')', '[', ']', '{', '}',
  ',', ':', '.', ';', '=',
];
const CLOSING: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
const MAX_NESTING = 200;

const ID_START = /[\p{L}\p{Nl}_]/u;
const ID_CONTINUE = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]/u;
const STRING_PREFIX = /^(r|u|f|b|br|rb|fr|rf)$/i;

const NUMBER_PATTERNS: Array<[RegExp, 'int' | 'hex' | 'oct' | 'bin' | 'float']> = [
  [/^0[xX](?:_?[0-9a-fA-F])+/, 'hex'],
  [/^0[oO](?:_?[0-7])+/, 'oct'],
  [/^0[bB](?:_?[01])+/, 'bin'],
  [/^(?:\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?/, 'float'],
  [/^\d(?:_?\d)*[eE][+-]?\d(?:_?\d)*/, 'float'],
  [/^\d(?:_?\d)*/, 'int'],
];

/** Maps source offsets to 1-based line and column. */
export class SourceMap {
  private readonly lineStarts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }
  loc(offset: number): Loc {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }
}

/** Normalizes line endings and drops a BOM, so offsets are stable for every later step. */
export function normalizeSource(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

export class Lexer {
  private pos: number;
  private readonly tokens: Token[] = [];
  private readonly brackets: Array<{ char: string; start: number }> = [];
  private readonly indents: number[] = [0];
  private atLineStart: boolean;
  private lineHasTokens = false;

  /**
   * Tokenizes `src.text[start, end)`. `nested` (for f-string expressions) treats the range as
   * inside brackets: no NEWLINE/INDENT tokens.
   */
  constructor(
    private readonly src: SourceMap,
    private readonly file: string,
    start = 0,
    private readonly end = src.text.length,
    private readonly nested = false,
  ) {
    this.pos = start;
    this.atLineStart = !nested;
  }

  private error(message: string, offset = this.pos): never {
    throw new ConfigError(this.file, this.src.loc(offset), `SyntaxError: ${message}`);
  }

  private get text(): string {
    return this.src.text;
  }

  private push(kind: TokenKind, text: string, start: number, end: number, extra: Partial<Token> = {}): void {
    this.tokens.push({ kind, text, loc: this.src.loc(start), start, end, ...extra });
    if (kind !== 'NEWLINE' && kind !== 'INDENT' && kind !== 'DEDENT') this.lineHasTokens = true;
  }

  tokenize(): Token[] {
    while (this.pos < this.end) {
      if (this.atLineStart && this.brackets.length === 0) {
        this.indentation();
        if (this.pos >= this.end) break;
      }
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\f') {
        this.pos++;
      } else if (c === '#') {
        while (this.pos < this.end && this.text[this.pos] !== '\n') this.pos++;
      } else if (c === '\n') {
        if (this.brackets.length === 0 && !this.nested && this.lineHasTokens) {
          this.push('NEWLINE', '', this.pos, this.pos + 1);
          this.lineHasTokens = false;
        }
        this.pos++;
        this.atLineStart = !this.nested;
      } else if (c === '\\') {
        if (this.text[this.pos + 1] !== '\n') this.error('unexpected character after line continuation character');
        this.pos += 2;
      } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(this.text[this.pos + 1] ?? ''))) {
        this.number();
      } else if (c === '"' || c === "'") {
        this.string('', this.pos);
      } else if (ID_START.test(c) || (c >= '\ud800' && c <= '\udbff')) {
        this.name();
      } else {
        this.operator();
      }
    }
    if (this.brackets.length > 0) {
      const open = this.brackets[this.brackets.length - 1];
      this.error(`'${open.char}' was never closed`, open.start);
    }
    if (!this.nested) {
      if (this.lineHasTokens) this.push('NEWLINE', '', this.end, this.end);
      while (this.indents.length > 1) {
        this.indents.pop();
        this.push('DEDENT', '', this.end, this.end);
      }
    }
    this.push('EOF', '', this.end, this.end);
    return this.tokens;
  }

  /** Measures the indentation of a line; blank and comment-only lines do not count. */
  private indentation(): void {
    let width = 0;
    let p = this.pos;
    for (; p < this.end; p++) {
      const c = this.text[p];
      if (c === ' ') width++;
      else if (c === '\t') width = (Math.floor(width / 8) + 1) * 8;
      else if (c === '\f') width = 0;
      else break;
    }
    this.pos = p;
    const c = this.text[p];
    if (p >= this.end || c === '\n' || c === '#' || (c === '\\' && this.text[p + 1] === '\n')) return;
    this.atLineStart = false;
    const top = this.indents[this.indents.length - 1];
    if (width > top) {
      this.indents.push(width);
      this.push('INDENT', '', p, p);
    } else if (width < top) {
      while (width < this.indents[this.indents.length - 1]) {
        this.indents.pop();
        this.push('DEDENT', '', p, p);
      }
      if (width !== this.indents[this.indents.length - 1]) {
        throw new ConfigError(this.file, this.src.loc(p), 'IndentationError: unindent does not match any outer indentation level');
      }
    }
  }

  private name(): void {
    const start = this.pos;
    let p = this.pos;
    while (p < this.end) {
      const cp = this.text.codePointAt(p)!;
      const ch = String.fromCodePoint(cp);
      if (!(p === start ? ID_START.test(ch) : ID_CONTINUE.test(ch))) break;
      p += ch.length;
    }
    if (p === start) this.error(`invalid character '${String.fromCodePoint(this.text.codePointAt(start)!)}'`);
    const word = this.text.slice(start, p);
    const next = this.text[p];
    if ((next === '"' || next === "'") && STRING_PREFIX.test(word)) {
      this.pos = p;
      this.string(word.toLowerCase(), start);
      return;
    }
    this.pos = p;
    this.push('NAME', word, start, p);
  }

  private number(): void {
    const start = this.pos;
    const rest = this.text.slice(start, Math.min(this.end, start + 400));
    for (const [re, kind] of NUMBER_PATTERNS) {
      const m = re.exec(rest);
      if (!m) continue;
      const p = start + m[0].length;
      const digits = m[0].replace(/_/g, '');
      const after = this.text[p] ?? '';
      if (after === 'j' || after === 'J') this.error(`complex numbers are not supported in configs (found '${m[0]}${after}')`, start);
      if (p < this.end && (ID_CONTINUE.test(after) || after === '_')) this.error(`invalid ${kind === 'float' ? 'decimal' : kind === 'int' ? 'decimal' : kind} literal`, start);
      let value: bigint | number;
      if (kind === 'float') value = Number(digits);
      else if (kind === 'int') {
        if (/^0+[1-9]/.test(digits)) this.error('leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers', start);
        value = BigInt(digits);
      } else value = BigInt(digits.toLowerCase());
      this.pos = p;
      this.push('NUMBER', m[0], start, p, { number: value });
      return;
    }
    this.error('invalid number literal', start);
  }

  /** Scans a string literal whose opening quote is at this.pos (prefix already consumed). */
  private string(prefix: string, start: number): void {
    const quote = this.text[this.pos];
    const triple = this.text.startsWith(quote.repeat(3), this.pos);
    const delim = triple ? quote.repeat(3) : quote;
    const bodyStart = this.pos + delim.length;
    let p = bodyStart;
    for (;;) {
      if (p >= this.end) this.error(triple ? 'unterminated triple-quoted string literal' : 'unterminated string literal', start);
      const c = this.text[p];
      if (c === '\\') {
        p += 2;
        continue;
      }
      if (c === '\n' && !triple) this.error('unterminated string literal', start);
      if (this.text.startsWith(delim, p)) break;
      p++;
    }
    const bodyEnd = p;
    this.pos = p + delim.length;
    if (prefix.includes('b')) this.error('bytes literals are not supported in configs', start);
    const raw = prefix.includes('r');
    const body = this.text.slice(bodyStart, bodyEnd);
    const value = prefix.includes('f') ? body : raw ? body : decodeEscapes(body, (msg, at) => this.error(msg, bodyStart + at));
    this.push('STRING', this.text.slice(start, this.pos), start, this.pos, { str: { prefix: prefix.replace('u', ''), bodyStart, bodyEnd, value } });
  }

  private operator(): void {
    const start = this.pos;
    const op = OPERATORS.find((o) => this.text.startsWith(o, start));
    if (!op) {
      const ch = String.fromCodePoint(this.text.codePointAt(start)!);
      this.error(ch === '!' ? "invalid syntax: '!'" : ch === '$' || ch === '?' || ch === '`' ? `invalid character '${ch}'` : `invalid character '${ch}' (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
    }
    if (op === '(' || op === '[' || op === '{') {
      if (this.brackets.length >= MAX_NESTING) this.error('too many nested parentheses');
      this.brackets.push({ char: op, start });
    } else if (op in CLOSING) {
      const open = this.brackets.pop();
      if (!open) this.error(`unmatched '${op}'`);
      if (open.char !== CLOSING[op]) this.error(`closing parenthesis '${op}' does not match opening parenthesis '${open.char}'`);
    }
    this.pos += op.length;
    this.push('OP', op, start, this.pos);
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '',
};

/** Decodes the backslash escapes of a non-raw string body; unknown escapes stay as written (as Python does). */
export function decodeEscapes(body: string, fail: (message: string, at: number) => never): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) {
      out += '\\';
      continue;
    }
    if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
      i++;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0];
      out += String.fromCodePoint(parseInt(m, 8));
      i += m.length;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`truncated \\${e}${'X'.repeat(n)} escape`, i);
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) fail(`illegal Unicode character in \\U escape`, i);
      out += String.fromCodePoint(cp);
      i += 1 + n;
    } else if (e === 'N') {
      fail('\\N{...} escapes are not supported in configs', i);
    } else {
      out += '\\';
    }
  }
  return out;
}
