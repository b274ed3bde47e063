// The syntax tree of the Python subset config files use: one node type per construct, each
// with its 1-based line and column so every error can point at `file:line:col`.

import type { PyValue } from './values';

export interface Loc {
  line: number;
  col: number;
}

export type Expr =
  | { kind: 'Constant'; loc: Loc; value: PyValue }
  | { kind: 'JoinedStr'; loc: Loc; parts: Array<string | FormattedValue> }
  | { kind: 'Name'; loc: Loc; id: string }
  | { kind: 'Attribute'; loc: Loc; value: Expr; attr: string }
  | { kind: 'Subscript'; loc: Loc; value: Expr; index: Expr }
  | { kind: 'Slice'; loc: Loc; lower: Expr | null; upper: Expr | null; step: Expr | null }
  | { kind: 'Call'; loc: Loc; func: Expr; args: Expr[]; keywords: Keyword[] }
  | { kind: 'BinOp'; loc: Loc; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'UnaryOp'; loc: Loc; op: '-' | '+' | '~' | 'not'; operand: Expr }
  | { kind: 'BoolOp'; loc: Loc; op: 'and' | 'or'; values: Expr[] }
  | { kind: 'Compare'; loc: Loc; left: Expr; ops: CompareOp[]; comparators: Expr[] }
  | { kind: 'IfExp'; loc: Loc; test: Expr; body: Expr; orelse: Expr }
  | { kind: 'Lambda'; loc: Loc; params: Param[]; body: Expr }
  | { kind: 'List'; loc: Loc; elts: Expr[] }
  | { kind: 'Tuple'; loc: Loc; elts: Expr[] }
  | { kind: 'Set'; loc: Loc; elts: Expr[] }
  /** A null key is a `**mapping` entry. */
  | { kind: 'Dict'; loc: Loc; keys: Array<Expr | null>; values: Expr[] }
  | { kind: 'Starred'; loc: Loc; value: Expr }
  | { kind: 'ListComp' | 'SetComp' | 'GeneratorExp'; loc: Loc; elt: Expr; generators: Comprehension[] }
  | { kind: 'DictComp'; loc: Loc; key: Expr; value: Expr; generators: Comprehension[] }
  | { kind: 'NamedExpr'; loc: Loc; target: string; value: Expr };

export type BinaryOp = '+' | '-' | '*' | '/' | '//' | '%' | '**' | '@' | '<<' | '>>' | '&' | '|' | '^';
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is' | 'is not';

export interface FormattedValue {
  expr: Expr;
  /** `!r`, `!s`, `!a`, or null. */
  conversion: 'r' | 's' | 'a' | null;
  spec: Expr | null;
  loc: Loc;
}

/** `name=value`, or `**value` when name is null. */
export interface Keyword {
  name: string | null;
  value: Expr;
}

export interface Comprehension {
  target: Expr;
  iter: Expr;
  ifs: Expr[];
}

export interface Param {
  name: string;
  kind: 'normal' | 'varargs' | 'kwonly' | 'varkw';
  default: Expr | null;
}

export interface ImportName {
  name: string;
  asname: string | null;
  loc: Loc;
}

export type Stmt =
  | { kind: 'Expr'; loc: Loc; value: Expr }
  | { kind: 'Assign'; loc: Loc; targets: Expr[]; value: Expr }
  | { kind: 'AugAssign'; loc: Loc; target: Expr; op: BinaryOp; value: Expr }
  | { kind: 'AnnAssign'; loc: Loc; target: Expr; value: Expr | null }
  | { kind: 'Delete'; loc: Loc; targets: Expr[] }
  | { kind: 'Pass' | 'Break' | 'Continue'; loc: Loc }
  | { kind: 'Import'; loc: Loc; names: ImportName[] }
  | { kind: 'ImportFrom'; loc: Loc; module: string | null; level: number; names: ImportName[] }
  | { kind: 'FunctionDef'; loc: Loc; name: string; params: Param[]; body: Stmt[] }
  | { kind: 'Return'; loc: Loc; value: Expr | null }
  | { kind: 'If'; loc: Loc; test: Expr; body: Stmt[]; orelse: Stmt[] }
  | { kind: 'For'; loc: Loc; target: Expr; iter: Expr; body: Stmt[]; orelse: Stmt[] }
  | { kind: 'While'; loc: Loc; test: Expr; body: Stmt[]; orelse: Stmt[] }
  | { kind: 'With'; loc: Loc; items: Array<{ expr: Expr; as: Expr | null }>; body: Stmt[] }
  | { kind: 'Assert'; loc: Loc; test: Expr; msg: Expr | null }
  | { kind: 'Raise'; loc: Loc; exc: Expr | null }
  | { kind: 'Global' | 'Nonlocal'; loc: Loc; names: string[] };

export interface Module {
  body: Stmt[];
}
