// Recursive-descent parser for the Python subset of config files: statements, the full
// expression grammar with comprehensions, f-strings and lambdas; anything else is a SyntaxError.

import { ConfigError } from '../errors';
import type { BinaryOp, CompareOp, Comprehension, Expr, FormattedValue, ImportName, Keyword, Loc, Module, Param, Stmt } from './ast';
import { decodeEscapes, isKeyword, Lexer, normalizeSource, SourceMap, type Token } from './lexer';

const MAX_DEPTH = 150;

const AUG_OPS: Record<string, BinaryOp> = {
  '+=': '+', '-=': '-', '*=': '*', '/=': '/', '//=': '//', '%=': '%', '**=': '**', '@=': '@', '<<=': '<<', '>>=': '>>',
  '&=': '&', '|=': '|', '^=': '^',
};

/** Statements Python has that configs may not use, with what we say about them. */
const UNSUPPORTED_STATEMENTS: Record<string, string> = {
  class: 'class definitions are not supported in configs',
  try: 'try statements are not supported in configs',
  async: 'async code is not supported in configs',
  yield: 'generators (yield) are not supported in configs',
  await: 'async code is not supported in configs',
};

/** Parses a whole config file. */
export function parseModule(text: string, file: string): Module {
  const src = new SourceMap(normalizeSource(text));
  const tokens = new Lexer(src, file).tokenize();
  return new Parser(tokens, src, file).module();
}

/** Parses one expression from source text (used for tests and `_base_` values). */
export function parseExpression(text: string, file: string): Expr {
  const src = new SourceMap(normalizeSource(text));
  const parser = new Parser(new Lexer(src, file, 0, src.text.length, true).tokenize(), src, file);
  const e = parser.starExpressions();
  parser.expectEnd();
  return e;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'NEWLINE':
      return 'end of line';
    case 'EOF':
      return 'end of file';
    case 'INDENT':
      return 'an indent';
    case 'DEDENT':
      return 'a dedent';
    case 'STRING':
      return t.text.length > 30 ? `${t.text.slice(0, 27)}...` : t.text;
    default:
      return `'${t.text}'`;
  }
}

class Parser {
  private i = 0;
  private depth = 0;
  private blockDepth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly src: SourceMap,
    private readonly file: string,
  ) {}

  // ---- token helpers -------------------------------------------------------------------

  private get tok(): Token {
    return this.tokens[this.i];
  }
  private peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)];
  }
  private next(): Token {
    const t = this.tokens[this.i];
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  private isOp(op: string, t = this.tok): boolean {
    return t.kind === 'OP' && t.text === op;
  }
  private isName(name: string, t = this.tok): boolean {
    return t.kind === 'NAME' && t.text === name;
  }
  private eatOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.next();
    return true;
  }
  private eatName(name: string): boolean {
    if (!this.isName(name)) return false;
    this.next();
    return true;
  }
  private fail(message: string, t: Token = this.tok): never {
    throw new ConfigError(this.file, t.loc, `SyntaxError: ${message}`);
  }
  private unexpected(expected?: string): never {
    const t = this.tok;
    if (t.kind === 'INDENT') this.fail('unexpected indent');
    if (t.kind === 'NAME' && t.text in UNSUPPORTED_STATEMENTS) this.fail(UNSUPPORTED_STATEMENTS[t.text]);
    this.fail(expected ? `expected ${expected}, found ${describe(t)}` : `invalid syntax at ${describe(t)}`);
  }
  private expectOp(op: string): Token {
    if (!this.isOp(op)) this.unexpected(`'${op}'`);
    return this.next();
  }
  private expectIdentifier(what = 'a name'): Token {
    const t = this.tok;
    if (t.kind !== 'NAME' || isKeyword(t.text)) this.unexpected(what);
    return this.next();
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('expression too deeply nested');
  }
  private leave(): void {
    this.depth--;
  }
  expectEnd(): void {
    if (this.tok.kind !== 'EOF') this.unexpected('end of expression');
  }

  // ---- statements ----------------------------------------------------------------------

  module(): Module {
    const body: Stmt[] = [];
    while (this.tok.kind !== 'EOF') {
      if (this.tok.kind === 'NEWLINE') {
        this.next();
        continue;
      }
      body.push(...this.statement());
    }
    return { body };
  }

  private statement(): Stmt[] {
    const t = this.tok;
    if (t.kind === 'NAME') {
      switch (t.text) {
        case 'def':
          return [this.functionDef()];
        case 'if':
          return [this.ifStatement()];
        case 'for':
          return [this.forStatement()];
        case 'while':
          return [this.whileStatement()];
        case 'with':
          return [this.withStatement()];
      }
      if (t.text in UNSUPPORTED_STATEMENTS) this.fail(UNSUPPORTED_STATEMENTS[t.text]);
    }
    if (this.isOp('@')) this.fail('decorators are not supported in configs');
    return this.simpleStatements();
  }

  private simpleStatements(): Stmt[] {
    const out = [this.simpleStatement()];
    while (this.eatOp(';')) {
      if (this.tok.kind === 'NEWLINE' || this.tok.kind === 'EOF') break;
      out.push(this.simpleStatement());
    }
    if (this.tok.kind === 'NEWLINE') this.next();
    else if (this.tok.kind !== 'EOF') this.unexpected('end of line');
    return out;
  }

  private simpleStatement(): Stmt {
    const t = this.tok;
    const loc = t.loc;
    if (t.kind === 'NAME') {
      switch (t.text) {
        case 'pass':
        case 'break':
        case 'continue':
          this.next();
          return { kind: t.text === 'pass' ? 'Pass' : t.text === 'break' ? 'Break' : 'Continue', loc };
        case 'return': {
          this.next();
          const value = this.atStatementEnd() ? null : this.starExpressions();
          return { kind: 'Return', loc, value };
        }
        case 'del': {
          this.next();
          const targets = [this.target(this.bitwiseOr(), 'delete')];
          while (this.eatOp(',')) {
            if (this.atStatementEnd()) break;
            targets.push(this.target(this.bitwiseOr(), 'delete'));
          }
          return { kind: 'Delete', loc, targets };
        }
        case 'import':
          return this.importStatement();
        case 'from':
          return this.fromImport();
        case 'global':
        case 'nonlocal': {
          this.next();
          const names = [this.expectIdentifier().text];
          while (this.eatOp(',')) names.push(this.expectIdentifier().text);
          return { kind: t.text === 'global' ? 'Global' : 'Nonlocal', loc, names };
        }
        case 'assert': {
          this.next();
          const test = this.expression();
          const msg = this.eatOp(',') ? this.expression() : null;
          return { kind: 'Assert', loc, test, msg };
        }
        case 'raise': {
          this.next();
          const exc = this.atStatementEnd() ? null : this.expression();
          if (this.isName('from')) {
            this.next();
            this.expression();
          }
          return { kind: 'Raise', loc, exc };
        }
      }
    }
    const first = this.starExpressions();
    if (this.isOp(':')) {
      this.next();
      const target = this.target(first, 'annotated');
      this.expression();
      const value = this.eatOp('=') ? this.starExpressions() : null;
      return { kind: 'AnnAssign', loc, target, value };
    }
    if (this.tok.kind === 'OP' && this.tok.text in AUG_OPS) {
      const op = AUG_OPS[this.next().text];
      if (first.kind !== 'Name' && first.kind !== 'Attribute' && first.kind !== 'Subscript') {
        this.failLoc(first.loc, `'${exprName(first)}' is an illegal expression for augmented assignment`);
      }
      return { kind: 'AugAssign', loc, target: first, op, value: this.starExpressions() };
    }
    if (this.isOp('=')) {
      const exprs = [first];
      while (this.eatOp('=')) exprs.push(this.starExpressions());
      const value = exprs.pop()!;
      return { kind: 'Assign', loc, targets: exprs.map((e) => this.target(e, 'assign')), value };
    }
    return { kind: 'Expr', loc, value: first };
  }

  private atStatementEnd(): boolean {
    return this.tok.kind === 'NEWLINE' || this.tok.kind === 'EOF' || this.isOp(';');
  }

  /** Checks that an expression can be assigned to (or deleted), as Python's grammar does. */
  private target(e: Expr, purpose: 'assign' | 'delete' | 'annotated' | 'for'): Expr {
    const bad = (what: string): never => {
      throw new ConfigError(this.file, e.loc, `SyntaxError: cannot ${purpose === 'delete' ? 'delete' : 'assign to'} ${what}`);
    };
    switch (e.kind) {
      case 'Name':
        if (isKeyword(e.id)) bad(e.id);
        return e;
      case 'Attribute':
      case 'Subscript':
        return e;
      case 'Tuple':
      case 'List':
        if (purpose === 'annotated') bad(`${e.kind.toLowerCase()} with an annotation`);
        if (e.elts.filter((x) => x.kind === 'Starred').length > 1) bad('multiple starred expressions');
        e.elts.forEach((x) => this.target(x, purpose));
        return e;
      case 'Starred':
        if (purpose === 'delete' || purpose === 'annotated') bad('starred');
        this.target(e.value, purpose);
        return e;
      default:
        return bad(exprName(e));
    }
  }

  private block(): Stmt[] {
    this.expectOp(':');
    if (this.tok.kind !== 'NEWLINE') return this.simpleStatements();
    this.next();
    if ((this.tok as Token).kind !== 'INDENT') this.fail('expected an indented block');
    if (++this.blockDepth > 100) this.fail('too many levels of indentation');
    this.next();
    const body: Stmt[] = [];
    while (!this.atBlockEnd()) body.push(...this.statement());
    this.next();
    this.blockDepth--;
    return body;
  }

  private atBlockEnd(): boolean {
    return this.tok.kind === 'DEDENT' || this.tok.kind === 'EOF';
  }

  private functionDef(): Stmt {
    const loc = this.next().loc;
    const name = this.expectIdentifier('a function name').text;
    this.expectOp('(');
    const params = this.parameters(')', true);
    this.expectOp(')');
    if (this.eatOp('->')) this.expression();
    return { kind: 'FunctionDef', loc, name, params, body: this.block() };
  }

  /** def/lambda parameters up to `close`; annotations are parsed and ignored. */
  private parameters(close: string, annotations: boolean): Param[] {
    const params: Param[] = [];
    let kwonly = false;
    const seen = new Set<string>();
    const add = (p: Param, t: Token) => {
      if (seen.has(p.name)) this.fail(`duplicate argument '${p.name}' in function definition`, t);
      seen.add(p.name);
      params.push(p);
    };
    while (!this.isOp(close)) {
      const t = this.tok;
      if (this.eatOp('/')) {
        // positional-only marker: every parameter before it may be passed positionally anyway
      } else if (this.eatOp('**')) {
        add({ name: this.expectIdentifier().text, kind: 'varkw', default: null }, t);
        if (annotations && this.eatOp(':')) this.expression();
      } else if (this.eatOp('*')) {
        kwonly = true;
        if (!this.isOp(',') && !this.isOp(close)) {
          add({ name: this.expectIdentifier().text, kind: 'varargs', default: null }, t);
          if (annotations && this.eatOp(':')) this.expression();
        }
      } else {
        const name = this.expectIdentifier('a parameter name').text;
        if (annotations && this.eatOp(':')) this.expression();
        const def = this.eatOp('=') ? this.expression() : null;
        const last = params[params.length - 1];
        if (!def && !kwonly && last && last.kind === 'normal' && last.default) this.fail('non-default argument follows default argument', t);
        add({ name, kind: kwonly ? 'kwonly' : 'normal', default: def }, t);
      }
      if (!this.eatOp(',')) break;
    }
    return params;
  }

  private ifStatement(): Stmt {
    const loc = this.next().loc;
    const test = this.namedExpression();
    const body = this.block();
    let orelse: Stmt[] = [];
    if (this.isName('elif')) orelse = [this.ifStatement()];
    else if (this.eatName('else')) orelse = this.block();
    return { kind: 'If', loc, test, body, orelse };
  }

  private forStatement(): Stmt {
    const loc = this.next().loc;
    const target = this.target(this.targetList(), 'for');
    if (!this.eatName('in')) this.unexpected("'in'");
    const iter = this.starExpressions();
    const body = this.block();
    const orelse = this.eatName('else') ? this.block() : [];
    return { kind: 'For', loc, target, iter, body, orelse };
  }

  private whileStatement(): Stmt {
    const loc = this.next().loc;
    const test = this.namedExpression();
    const body = this.block();
    const orelse = this.eatName('else') ? this.block() : [];
    return { kind: 'While', loc, test, body, orelse };
  }

  private withStatement(): Stmt {
    const loc = this.next().loc;
    const items: Array<{ expr: Expr; as: Expr | null }> = [];
    do {
      const expr = this.expression();
      const as = this.eatName('as') ? this.target(this.bitwiseOr(), 'assign') : null;
      items.push({ expr, as });
    } while (this.eatOp(','));
    return { kind: 'With', loc, items, body: this.block() };
  }

  private dottedName(): string {
    let name = this.expectIdentifier('a module name').text;
    while (this.eatOp('.')) name += `.${this.expectIdentifier('a module name').text}`;
    return name;
  }

  private importStatement(): Stmt {
    const loc = this.next().loc;
    const names: ImportName[] = [];
    do {
      const t = this.tok;
      const name = this.dottedName();
      const asname = this.eatName('as') ? this.expectIdentifier().text : null;
      names.push({ name, asname, loc: t.loc });
    } while (this.eatOp(','));
    return { kind: 'Import', loc, names };
  }

  private fromImport(): Stmt {
    const loc = this.next().loc;
    let level = 0;
    while (this.isOp('.') || this.isOp('...')) level += this.next().text.length;
    const module = level > 0 && this.isName('import') ? null : this.dottedName();
    if (!this.eatName('import')) this.unexpected("'import'");
    const names: ImportName[] = [];
    if (this.isOp('*')) {
      names.push({ name: '*', asname: null, loc: this.next().loc });
    } else {
      const paren = this.eatOp('(');
      do {
        if (paren && this.isOp(')')) break;
        const t = this.expectIdentifier();
        const asname = this.eatName('as') ? this.expectIdentifier().text : null;
        names.push({ name: t.text, asname, loc: t.loc });
      } while (this.eatOp(','));
      if (paren) this.expectOp(')');
    }
    return { kind: 'ImportFrom', loc, module, level, names };
  }

  // ---- expressions ---------------------------------------------------------------------

  /** `a, *b, c` (a tuple without parentheses) or a single expression. */
  starExpressions(): Expr {
    const loc = this.tok.loc;
    const first = this.starExpression();
    if (!this.isOp(',')) {
      if (first.kind === 'Starred') this.failLoc(first.loc, "can't use starred expression here");
      return first;
    }
    const elts = [first];
    while (this.eatOp(',')) {
      if (!this.startsExpression()) break;
      elts.push(this.starExpression());
    }
    return { kind: 'Tuple', loc, elts };
  }

  private starExpression(): Expr {
    if (this.isOp('*')) {
      const loc = this.next().loc;
      return { kind: 'Starred', loc, value: this.bitwiseOr() };
    }
    return this.namedExpression();
  }

  /** A `for` target list: stops before `in`. */
  private targetList(): Expr {
    const loc = this.tok.loc;
    const one = () => (this.isOp('*') ? { kind: 'Starred' as const, loc: this.next().loc, value: this.bitwiseOr() } : this.bitwiseOr());
    const first = one();
    if (!this.isOp(',')) return first;
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isName('in')) break;
      elts.push(one());
    }
    return { kind: 'Tuple', loc, elts };
  }

  private startsExpression(): boolean {
    const t = this.tok;
    if (t.kind === 'NAME') return !isKeyword(t.text) || ['not', 'lambda', 'None', 'True', 'False', 'await'].includes(t.text);
    if (t.kind === 'NUMBER' || t.kind === 'STRING') return true;
    return t.kind === 'OP' && ['(', '[', '{', '-', '+', '~', '*', '...'].includes(t.text);
  }

  private namedExpression(): Expr {
    if (this.tok.kind === 'NAME' && this.isOp(':=', this.peek())) {
      const t = this.expectIdentifier();
      this.next();
      return { kind: 'NamedExpr', loc: t.loc, target: t.text, value: this.expression() };
    }
    return this.expression();
  }

  expression(): Expr {
    this.enter();
    try {
      if (this.isName('lambda')) return this.lambda();
      const body = this.disjunction();
      if (!this.isName('if')) return body;
      this.next();
      const test = this.disjunction();
      if (!this.eatName('else')) this.unexpected("'else' after conditional expression");
      return { kind: 'IfExp', loc: body.loc, test, body, orelse: this.expression() };
    } finally {
      this.leave();
    }
  }

  private lambda(): Expr {
    const loc = this.next().loc;
    const params = this.parameters(':', false);
    this.expectOp(':');
    return { kind: 'Lambda', loc, params, body: this.expression() };
  }

  private disjunction(): Expr {
    const first = this.conjunction();
    if (!this.isName('or')) return first;
    const values = [first];
    while (this.eatName('or')) values.push(this.conjunction());
    return { kind: 'BoolOp', loc: first.loc, op: 'or', values };
  }

  private conjunction(): Expr {
    const first = this.inversion();
    if (!this.isName('and')) return first;
    const values = [first];
    while (this.eatName('and')) values.push(this.inversion());
    return { kind: 'BoolOp', loc: first.loc, op: 'and', values };
  }

  private inversion(): Expr {
    if (this.isName('not')) {
      const loc = this.next().loc;
      this.enter();
      try {
        return { kind: 'UnaryOp', loc, op: 'not', operand: this.inversion() };
      } finally {
        this.leave();
      }
    }
    return this.comparison();
  }

  private compareOp(): CompareOp | null {
    const t = this.tok;
    if (t.kind === 'OP' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.next();
      return t.text as CompareOp;
    }
    if (this.isName('in')) {
      this.next();
      return 'in';
    }
    if (this.isName('not') && this.isName('in', this.peek())) {
      this.next();
      this.next();
      return 'not in';
    }
    if (this.isName('is')) {
      this.next();
      return this.eatName('not') ? 'is not' : 'is';
    }
    return null;
  }

  private comparison(): Expr {
    const left = this.bitwiseOr();
    const ops: CompareOp[] = [];
    const comparators: Expr[] = [];
    for (let op = this.compareOp(); op; op = this.compareOp()) {
      ops.push(op);
      comparators.push(this.bitwiseOr());
    }
    return ops.length ? { kind: 'Compare', loc: left.loc, left, ops, comparators } : left;
  }

  private binary(ops: readonly string[], operand: () => Expr): Expr {
    let left = operand();
    while (this.tok.kind === 'OP' && ops.includes(this.tok.text)) {
      const op = this.next().text as BinaryOp;
      left = { kind: 'BinOp', loc: left.loc, op, left, right: operand() };
    }
    return left;
  }

  private bitwiseOr(): Expr {
    return this.binary(['|'], () => this.binary(['^'], () => this.binary(['&'], () => this.binary(['<<', '>>'], () => this.arith()))));
  }

  private arith(): Expr {
    return this.binary(['+', '-'], () => this.binary(['*', '/', '//', '%', '@'], () => this.factor()));
  }

  private factor(): Expr {
    const t = this.tok;
    if (t.kind === 'OP' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.next();
      this.enter();
      try {
        const operand = this.factor();
        return { kind: 'UnaryOp', loc: t.loc, op: t.text as '-' | '+' | '~', operand };
      } finally {
        this.leave();
      }
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    if (!this.isOp('**')) return base;
    this.next();
    this.enter();
    try {
      return { kind: 'BinOp', loc: base.loc, op: '**', left: base, right: this.factor() };
    } finally {
      this.leave();
    }
  }

  private primary(): Expr {
    if (this.isName('await')) this.fail(UNSUPPORTED_STATEMENTS.await);
    let e = this.atom();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const name = this.expectIdentifier('an attribute name');
        e = { kind: 'Attribute', loc: name.loc, value: e, attr: name.text };
      } else if (this.isOp('(')) {
        const loc = this.next().loc;
        e = this.callArguments(e, loc);
      } else if (this.isOp('[')) {
        const loc = this.next().loc;
        e = { kind: 'Subscript', loc, value: e, index: this.subscriptIndex() };
        this.expectOp(']');
      } else {
        return e;
      }
    }
  }

  private callArguments(func: Expr, loc: Loc): Expr {
    const args: Expr[] = [];
    const keywords: Keyword[] = [];
    while (!this.isOp(')')) {
      const t = this.tok;
      if (this.eatOp('**')) {
        keywords.push({ name: null, value: this.expression() });
      } else if (this.eatOp('*')) {
        if (keywords.some((k) => k.name === null)) this.fail('iterable argument unpacking follows keyword argument unpacking', t);
        args.push({ kind: 'Starred', loc: t.loc, value: this.expression() });
      } else if (t.kind === 'NAME' && this.isOp('=', this.peek())) {
        this.expectIdentifier('an argument name');
        this.next();
        if (keywords.some((k) => k.name === t.text)) this.fail(`keyword argument repeated: ${t.text}`, t);
        keywords.push({ name: t.text, value: this.expression() });
      } else {
        const value = this.namedExpression();
        if (this.isName('for')) {
          const gen: Expr = { kind: 'GeneratorExp', loc: value.loc, elt: value, generators: this.comprehensionClauses() };
          if (args.length || keywords.length || !this.isOp(')')) this.fail('generator expression must be parenthesized', t);
          args.push(gen);
          break;
        }
        if (keywords.length) this.fail(keywords.some((k) => k.name === null) ? 'positional argument follows keyword argument unpacking' : 'positional argument follows keyword argument', t);
        args.push(value);
      }
      if (!this.eatOp(',')) break;
    }
    this.expectOp(')');
    return { kind: 'Call', loc, func, args, keywords };
  }

  private subscriptIndex(): Expr {
    const loc = this.tok.loc;
    const first = this.sliceItem();
    if (!this.isOp(',')) return first;
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isOp(']')) break;
      elts.push(this.sliceItem());
    }
    return { kind: 'Tuple', loc, elts };
  }

  private sliceItem(): Expr {
    const loc = this.tok.loc;
    const bound = () => (this.isOp(':') || this.isOp(']') || this.isOp(',') ? null : this.expression());
    const lower = bound();
    if (!this.isOp(':')) {
      if (!lower) this.unexpected('an index');
      return lower;
    }
    this.next();
    const upper = bound();
    const step = this.eatOp(':') ? bound() : null;
    return { kind: 'Slice', loc, lower, upper, step };
  }

  private comprehensionClauses(): Comprehension[] {
    const generators: Comprehension[] = [];
    while (this.isName('for')) {
      this.next();
      const target = this.target(this.targetList(), 'for');
      if (!this.eatName('in')) this.unexpected("'in'");
      const iter = this.disjunction();
      const ifs: Expr[] = [];
      while (this.eatName('if')) ifs.push(this.disjunction());
      generators.push({ target, iter, ifs });
    }
    if (this.isName('async')) this.fail(UNSUPPORTED_STATEMENTS.async);
    return generators;
  }

  private atom(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case 'NUMBER':
        this.next();
        return { kind: 'Constant', loc: t.loc, value: t.number! };
      case 'STRING':
        return this.strings();
      case 'NAME':
        if (t.text === 'None' || t.text === 'True' || t.text === 'False') {
          this.next();
          return { kind: 'Constant', loc: t.loc, value: t.text === 'None' ? null : t.text === 'True' };
        }
        if (isKeyword(t.text)) this.unexpected('an expression');
        this.next();
        return { kind: 'Name', loc: t.loc, id: t.text };
      case 'OP':
        if (t.text === '(') return this.parenthesized();
        if (t.text === '[') return this.listDisplay();
        if (t.text === '{') return this.braceDisplay();
        if (t.text === '...') this.fail('Ellipsis (...) is not supported in configs');
    }
    return this.unexpected('an expression');
  }

  private parenthesized(): Expr {
    const loc = this.next().loc;
    this.enter();
    try {
      if (this.eatOp(')')) return { kind: 'Tuple', loc, elts: [] };
      const first = this.starExpression();
      if (this.isName('for')) {
        const e: Expr = { kind: 'GeneratorExp', loc, elt: first, generators: this.comprehensionClauses() };
        this.expectOp(')');
        return e;
      }
      if (this.eatOp(')')) {
        if (first.kind === 'Starred') this.failLoc(first.loc, "can't use starred expression here");
        return first;
      }
      const elts = [first];
      while (this.eatOp(',')) {
        if (this.isOp(')')) break;
        elts.push(this.starExpression());
      }
      this.expectOp(')');
      return { kind: 'Tuple', loc, elts };
    } finally {
      this.leave();
    }
  }

  private listDisplay(): Expr {
    const loc = this.next().loc;
    this.enter();
    try {
      if (this.eatOp(']')) return { kind: 'List', loc, elts: [] };
      const first = this.starExpression();
      if (this.isName('for')) {
        const e: Expr = { kind: 'ListComp', loc, elt: first, generators: this.comprehensionClauses() };
        this.expectOp(']');
        return e;
      }
      const elts = [first];
      while (this.eatOp(',')) {
        if (this.isOp(']')) break;
        elts.push(this.starExpression());
      }
      this.expectOp(']');
      return { kind: 'List', loc, elts };
    } finally {
      this.leave();
    }
  }

  private braceDisplay(): Expr {
    const loc = this.next().loc;
    this.enter();
    try {
      if (this.eatOp('}')) return { kind: 'Dict', loc, keys: [], values: [] };
      // dict: `k: v` or `**m` entries; set: expressions
      if (this.isOp('**') || this.dictEntryAhead()) return this.dictDisplay(loc);
      const first = this.starExpression();
      if (this.isName('for')) {
        const e: Expr = { kind: 'SetComp', loc, elt: first, generators: this.comprehensionClauses() };
        this.expectOp('}');
        return e;
      }
      const elts = [first];
      while (this.eatOp(',')) {
        if (this.isOp('}')) break;
        elts.push(this.starExpression());
      }
      this.expectOp('}');
      return { kind: 'Set', loc, elts };
    } finally {
      this.leave();
    }
  }

  /** After `{`: does the first entry have a `:` at bracket depth 0 (a dict, not a set)? */
  private dictEntryAhead(): boolean {
    let depth = 0;
    for (let j = this.i; j < this.tokens.length; j++) {
      const t = this.tokens[j];
      if (t.kind === 'EOF') return false;
      if (t.kind !== 'OP') {
        if (depth === 0 && t.kind === 'NAME' && t.text === 'lambda') return false;
        continue;
      }
      if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
      else if (t.text === ')' || t.text === ']' || t.text === '}') {
        if (depth === 0) return false;
        depth--;
      } else if (depth === 0 && t.text === ':') return true;
      else if (depth === 0 && t.text === ',') return false;
    }
    return false;
  }

  private dictDisplay(loc: Loc): Expr {
    const keys: Array<Expr | null> = [];
    const values: Expr[] = [];
    for (;;) {
      if (this.eatOp('**')) {
        keys.push(null);
        values.push(this.bitwiseOr());
      } else {
        const key = this.expression();
        this.expectOp(':');
        const value = this.expression();
        if (this.isName('for') && keys.length === 0) {
          const e: Expr = { kind: 'DictComp', loc, key, value, generators: this.comprehensionClauses() };
          this.expectOp('}');
          return e;
        }
        keys.push(key);
        values.push(value);
      }
      if (!this.eatOp(',') || this.isOp('}')) break;
    }
    this.expectOp('}');
    return { kind: 'Dict', loc, keys, values };
  }

  // ---- strings -------------------------------------------------------------------------

  /** Adjacent string literals concatenated; any f-string makes the whole a JoinedStr. */
  private strings(): Expr {
    const loc = this.tok.loc;
    const parts: Array<string | FormattedValue> = [];
    let formatted = false;
    while (this.tok.kind === 'STRING') {
      const s = this.next().str!;
      if (s.prefix.includes('f')) {
        formatted = true;
        parts.push(...this.fstringParts(s.bodyStart, s.bodyEnd, s.prefix.includes('r'), 0));
      } else {
        parts.push(s.value);
      }
    }
    if (!formatted) return { kind: 'Constant', loc, value: parts.join('') };
    return { kind: 'JoinedStr', loc, parts };
  }

  /** Splits an f-string body (source offsets) into literal text and replacement fields. */
  private fstringParts(start: number, end: number, raw: boolean, nesting: number): Array<string | FormattedValue> {
    const text = this.src.text;
    const parts: Array<string | FormattedValue> = [];
    let literal = '';
    let literalStart = start;
    const flush = () => {
      if (literal) {
        const at = literalStart;
        parts.push(raw ? literal : decodeEscapes(literal, (m, off) => this.failAt(at + off, m)));
      }
      literal = '';
    };
    let i = start;
    while (i < end) {
      const c = text[i];
      if (c === '{' && text[i + 1] === '{') {
        literal += '{';
        i += 2;
      } else if (c === '}' && text[i + 1] === '}') {
        literal += '}';
        i += 2;
      } else if (c === '}') {
        this.failAt(i, "f-string: single '}' is not allowed");
      } else if (c === '{') {
        flush();
        if (nesting >= 2) this.failAt(i, 'f-string: expressions nested too deeply');
        i = this.fstringField(i + 1, end, raw, nesting, parts);
        literalStart = i;
      } else {
        if (c === '\\' && !raw && i + 1 < end) {
          literal += text.slice(i, i + 2);
          i += 2;
          continue;
        }
        literal += c;
        i++;
      }
    }
    flush();
    return parts;
  }

  private failLoc(loc: Loc, message: string): never {
    throw new ConfigError(this.file, loc, `SyntaxError: ${message}`);
  }

  private failAt(offset: number, message: string): never {
    throw new ConfigError(this.file, this.src.loc(offset), `SyntaxError: ${message}`);
  }

  /** Parses `expr[=][!c][:spec]}` starting after `{`; returns the offset after the closing `}`. */
  private fstringField(start: number, end: number, raw: boolean, nesting: number, parts: Array<string | FormattedValue>): number {
    const text = this.src.text;
    let depth = 0;
    let i = start;
    let exprEnd = -1;
    let debug = false;
    for (; i < end; i++) {
      const c = text[i];
      if (c === "'" || c === '"') {
        const close = text.indexOf(c, i + 1);
        if (close < 0 || close >= end) this.failAt(i, 'f-string: unterminated string');
        i = close;
      } else if (c === '\\') {
        this.failAt(i, 'f-string expression part cannot include a backslash');
      } else if (c === '#') {
        this.failAt(i, "f-string expression part cannot include '#'");
      } else if ('([{'.includes(c)) depth++;
      else if (')]'.includes(c) || (c === '}' && depth > 0)) depth--;
      else if (depth === 0) {
        if (c === '}' || c === ':' || (c === '!' && text[i + 1] !== '=')) {
          exprEnd = i;
          break;
        }
        if (c === '=' && text[i + 1] !== '=' && !'=!<>'.includes(text[i - 1])) {
          exprEnd = i;
          debug = true;
          break;
        }
      }
    }
    if (exprEnd < 0) this.failAt(start - 1, "f-string: expecting '}'");
    if (!text.slice(start, exprEnd).trim()) this.failAt(exprEnd, 'f-string: empty expression not allowed');
    const sub = new Parser(new Lexer(this.src, this.file, start, exprEnd, true).tokenize(), this.src, this.file);
    sub.depth = this.depth;
    const expr = sub.starExpressions();
    sub.expectEnd();
    i = exprEnd;
    if (debug) {
      parts.push(text.slice(start, exprEnd + 1));
      i++;
      while (i < end && /\s/.test(text[i])) {
        (parts[parts.length - 1] as string) += text[i];
        i++;
      }
    }
    let conversion: 'r' | 's' | 'a' | null = null;
    if (text[i] === '!') {
      const c = text[i + 1];
      if (c !== 'r' && c !== 's' && c !== 'a') this.failAt(i, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
      conversion = c;
      i += 2;
    }
    let spec: Expr | null = null;
    if (text[i] === ':') {
      const specStart = i + 1;
      let d = 0;
      let j = specStart;
      for (; j < end; j++) {
        if (text[j] === '{') d++;
        else if (text[j] === '}') {
          if (d === 0) break;
          d--;
        }
      }
      spec = { kind: 'JoinedStr', loc: this.src.loc(specStart), parts: this.fstringParts(specStart, j, raw, nesting + 1) };
      i = j;
    }
    if (text[i] !== '}') this.failAt(i, "f-string: expecting '}'");
    if (debug && conversion === null && spec === null) conversion = 'r';
    parts.push({ expr, conversion, spec, loc: expr.loc });
    return i + 1;
  }
}

/** Python's wording for an expression that cannot be a target. */
function exprName(e: Expr): string {
  switch (e.kind) {
    case 'Constant':
      return e.value === null || typeof e.value === 'boolean' ? String(e.value === null ? 'None' : e.value ? 'True' : 'False') : 'literal';
    case 'Call':
      return 'function call';
    case 'BinOp':
    case 'UnaryOp':
      return 'expression';
    case 'BoolOp':
      return 'expression';
    case 'Compare':
      return 'comparison';
    case 'IfExp':
      return 'conditional expression';
    case 'Lambda':
      return 'lambda';
    case 'Dict':
      return 'dict literal';
    case 'Set':
      return 'set display';
    case 'JoinedStr':
      return 'f-string expression';
    case 'ListComp':
      return 'list comprehension';
    case 'SetComp':
      return 'set comprehension';
    case 'DictComp':
      return 'dict comprehension';
    case 'GeneratorExp':
      return 'generator expression';
    case 'NamedExpr':
      return 'named expression';
    default:
      return 'expression';
  }
}
