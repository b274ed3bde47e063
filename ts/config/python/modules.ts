// The standard modules configs import, emulated: os / os.path (posixpath semantics), math,
// copy, functools, itertools, mmengine.config; other standard modules import but refuse use.

import * as fs from 'node:fs';
import * as nodeOs from 'node:os';

import { pyError } from '../errors';
import { floatRepr } from './format';
import { binaryOp } from './operators';
import { bindArgs, callValue, checkLength, deepCopy, iterate, noKwargs, toBigInt, toIndex } from './runtime';
import { PyBuiltin, PyDict, PyIterable, PyModule, PySet, PyTuple, typeName, type Kwargs, type PyValue } from './values';

/** Top-level names of Python 3.11's standard library (sys.stdlib_module_names, public ones). */
const STDLIB = new Set(
  `abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect
builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall
concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm
decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp
fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip
hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword
lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt
multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev pathlib
pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd
py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy
sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd
sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau
symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit
tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata
unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp
zipfile zipimport zlib zoneinfo`.split(/\s+/),
);

/**
 * MMEngine's `_is_builtin_module`: standard-library and `mmengine.config` imports run for real;
 * any other import makes a config "lazy" (new-style) and binds LazyObjects.
 */
export function isBuiltinModule(name: string): boolean {
  if (name.startsWith('.')) return false;
  if (name.startsWith('mmengine.config')) return true;
  return STDLIB.has(name.split('.')[0]);
}

/** What modules need from the loader: `Config.fromfile` inside a config. */
export interface ModuleHost {
  loadConfigFile(path: string): PyDict;
}

function strArg(fname: string, v: PyValue | undefined): string {
  if (typeof v !== 'string') pyError('TypeError', `${fname}() argument must be str, not ${typeName(v ?? null)}`);
  return v;
}

// ---- posixpath -----------------------------------------------------------------------------

function pjoin(parts: string[]): string {
  let out = parts[0];
  for (const p of parts.slice(1)) {
    if (p.startsWith('/')) out = p;
    else if (!out || out.endsWith('/')) out += p;
    else out += `/${p}`;
  }
  return out;
}

function psplit(p: string): [string, string] {
  const i = p.lastIndexOf('/') + 1;
  let head = p.slice(0, i);
  const tail = p.slice(i);
  if (head && head !== '/'.repeat(head.length)) head = head.replace(/\/+$/, '');
  return [head, tail];
}

function psplitext(p: string): [string, string] {
  const sep = p.lastIndexOf('/');
  const dot = p.lastIndexOf('.');
  if (dot > sep) {
    let i = sep + 1;
    while (i < dot && p[i] === '.') i++;
    if (i < dot) return [p.slice(0, dot), p.slice(dot)];
  }
  return [p, ''];
}

export function normpath(p: string): string {
  if (!p) return '.';
  const initial = p.startsWith('/') ? (p.startsWith('//') && !p.startsWith('///') ? 2 : 1) : 0;
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (!c || c === '.') continue;
    if (c !== '..' || (!initial && !out.length) || (out.length && out[out.length - 1] === '..')) out.push(c);
    else if (out.length) out.pop();
  }
  const s = '/'.repeat(initial) + out.join('/');
  return s || '.';
}

function expanduser(p: string): string {
  if (!p.startsWith('~')) return p;
  const i = p.indexOf('/', 1);
  const user = p.slice(1, i < 0 ? undefined : i);
  if (user) return p;
  const home = (process.env.HOME ?? nodeOs.homedir()).replace(/\/+$/, '') || '/';
  return home + (i < 0 ? '' : p.slice(i));
}

function abspath(p: string): string {
  return normpath(p.startsWith('/') ? p : pjoin([process.cwd(), p]));
}

function relpath(p: string, start: string): string {
  const a = abspath(p).split('/').filter(Boolean);
  const b = abspath(start).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const parts = [...Array(b.length - i).fill('..'), ...a.slice(i)];
  return parts.length ? parts.join('/') : '.';
}

function isFileType(p: string, check: (s: fs.Stats) => boolean): boolean {
  try {
    return check(fs.statSync(p));
  } catch {
    return false;
  }
}

function fnTable(entries: Record<string, (args: PyValue[], kwargs: Kwargs) => PyValue>): Map<string, PyValue> {
  return new Map(Object.entries(entries).map(([name, f]) => [name, new PyBuiltin(name, f)]));
}

function pathModule(): PyModule {
  const one = (name: string, f: (p: string) => PyValue) => (args: PyValue[], kwargs: Kwargs) => f(strArg(name, bindArgs(name, ['path'], args, kwargs)[0]));
  const attrs = fnTable({
    join: (args, kwargs) => {
      noKwargs('join', kwargs);
      if (!args.length) pyError('TypeError', 'join() missing 1 required positional argument');
      return pjoin(args.map((a) => strArg('join', a)));
    },
    basename: one('basename', (p) => psplit(p)[1]),
    dirname: one('dirname', (p) => psplit(p)[0]),
    split: one('split', (p) => new PyTuple(psplit(p))),
    splitext: one('splitext', (p) => new PyTuple(psplitext(p))),
    normpath: one('normpath', normpath),
    abspath: one('abspath', abspath),
    realpath: one('realpath', (p) => {
      try {
        return fs.realpathSync(abspath(p));
      } catch {
        return abspath(p);
      }
    }),
    expanduser: one('expanduser', expanduser),
    expandvars: one('expandvars', (p) => p.replace(/\$(\w+)|\$\{([^}]*)\}/g, (m, a: string, b: string) => process.env[a ?? b] ?? m)),
    isabs: one('isabs', (p) => p.startsWith('/')),
    exists: one('exists', (p) => fs.existsSync(p)),
    isfile: one('isfile', (p) => isFileType(p, (s) => s.isFile())),
    isdir: one('isdir', (p) => isFileType(p, (s) => s.isDirectory())),
    relpath: (args, kwargs) => {
      const [p, start] = bindArgs('relpath', ['path', 'start?'], args, kwargs);
      if (strArg('relpath', p) === '') pyError('ValueError', 'no path specified');
      return relpath(p as string, start === undefined || start === null ? '.' : strArg('relpath', start));
    },
  });
  const m = new Map<string, PyValue>(attrs);
  m.set('sep', '/');
  m.set('pathsep', ':');
  m.set('curdir', '.');
  m.set('pardir', '..');
  m.set('extsep', '.');
  return new PyModule('posixpath', m);
}

function osModule(path: PyModule): PyModule {
  // a snapshot: a config may read and set variables, never the process environment
  const environ = new PyDict(Object.entries(process.env).filter(([, v]) => v !== undefined) as Array<[string, string]>);
  const m = fnTable({
    getenv: (args, kwargs) => {
      const [k, def] = bindArgs('getenv', ['key', 'default?'], args, kwargs);
      return environ.get(strArg('getenv', k)) ?? def ?? null;
    },
    getcwd: () => process.cwd(),
    cpu_count: () => BigInt(nodeOs.cpus().length),
  });
  m.set('path', path);
  m.set('environ', environ);
  m.set('sep', '/');
  m.set('pathsep', ':');
  m.set('linesep', '\n');
  m.set('curdir', '.');
  m.set('pardir', '..');
  m.set('name', 'posix');
  return new PyModule('os', m);
}

// ---- math ----------------------------------------------------------------------------------

function real(fname: string, v: PyValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return Number(v);
  return pyError('TypeError', `${fname}(): must be real number, not ${typeName(v ?? null)}`);
}

function mathModule(): PyModule {
  const f1 = (name: string, f: (x: number) => number, domain?: (x: number) => boolean) => (args: PyValue[], kwargs: Kwargs) => {
    const x = real(name, bindArgs(name, ['x'], args, kwargs)[0]);
    if (domain && !domain(x)) pyError('ValueError', 'math domain error');
    return f(x);
  };
  const toIntResult = (name: string, f: (x: number) => number) => (args: PyValue[], kwargs: Kwargs) => {
    const [v] = bindArgs(name, ['x'], args, kwargs);
    if (typeof v === 'bigint' || typeof v === 'boolean') return BigInt(v);
    const x = real(name, v);
    if (!Number.isFinite(x)) pyError(Number.isNaN(x) ? 'ValueError' : 'OverflowError', `cannot convert float ${floatRepr(x)} to integer`);
    return BigInt(f(x));
  };
  const gcd = (a: bigint, b: bigint): bigint => {
    a = a < 0n ? -a : a;
    b = b < 0n ? -b : b;
    while (b) [a, b] = [b, a % b];
    return a;
  };
  const m = fnTable({
    sqrt: f1('sqrt', Math.sqrt, (x) => x >= 0 || Number.isNaN(x)),
    exp: f1('exp', Math.exp),
    log: (args, kwargs) => {
      const [x, base] = bindArgs('log', ['x', 'base?'], args, kwargs);
      const v = real('log', x);
      if (v <= 0) pyError('ValueError', 'math domain error');
      return base === undefined ? Math.log(v) : Math.log(v) / Math.log(real('log', base));
    },
    log2: f1('log2', Math.log2, (x) => x > 0),
    log10: f1('log10', Math.log10, (x) => x > 0),
    log1p: f1('log1p', Math.log1p, (x) => x > -1),
    pow: (args, kwargs) => {
      const [x, y] = bindArgs('pow', ['x', 'y'], args, kwargs);
      return real('pow', x) ** real('pow', y);
    },
    fabs: f1('fabs', Math.abs),
    sin: f1('sin', Math.sin),
    cos: f1('cos', Math.cos),
    tan: f1('tan', Math.tan),
    asin: f1('asin', Math.asin, (x) => x >= -1 && x <= 1),
    acos: f1('acos', Math.acos, (x) => x >= -1 && x <= 1),
    atan: f1('atan', Math.atan),
    atan2: (args, kwargs) => {
      const [y, x] = bindArgs('atan2', ['y', 'x'], args, kwargs);
      return Math.atan2(real('atan2', y), real('atan2', x));
    },
    hypot: (args) => Math.hypot(...args.map((a) => real('hypot', a))),
    degrees: f1('degrees', (x) => (x * 180) / Math.PI),
    radians: f1('radians', (x) => (x * Math.PI) / 180),
    ceil: toIntResult('ceil', Math.ceil),
    floor: toIntResult('floor', Math.floor),
    trunc: toIntResult('trunc', Math.trunc),
    isinf: f1('isinf', (x) => Number(!Number.isFinite(x) && !Number.isNaN(x))),
    isnan: f1('isnan', (x) => Number(Number.isNaN(x))),
    isfinite: f1('isfinite', (x) => Number(Number.isFinite(x))),
    isclose: (args, kwargs) => {
      const [a, b, rel, abs] = bindArgs('isclose', ['a', 'b', 'rel_tol?', 'abs_tol?'], args, kwargs);
      const x = real('isclose', a);
      const y = real('isclose', b);
      const r = rel === undefined ? 1e-9 : real('isclose', rel);
      const t = abs === undefined ? 0 : real('isclose', abs);
      return x === y || Math.abs(x - y) <= Math.max(r * Math.max(Math.abs(x), Math.abs(y)), t);
    },
    gcd: (args) => args.reduce((acc: bigint, v) => gcd(acc, toBigInt(v)), 0n),
    lcm: (args) => args.reduce((acc: bigint, v) => {
      const n = toBigInt(v);
      return acc === 0n || n === 0n ? 0n : ((acc * n < 0n ? -acc * n : acc * n) / gcd(acc, n));
    }, 1n),
    factorial: (args, kwargs) => {
      const n = toBigInt(bindArgs('factorial', ['n'], args, kwargs)[0]!);
      if (n < 0n) pyError('ValueError', 'factorial() not defined for negative values');
      if (n > 5000n) pyError('OverflowError', 'factorial() argument too large for a config');
      let r = 1n;
      for (let i = 2n; i <= n; i++) r *= i;
      return r;
    },
    prod: (args, kwargs) => {
      const [it, start] = bindArgs('prod', ['iterable', 'start?'], args, kwargs);
      return iterate(it!).reduce((acc: PyValue, v) => binaryOp('*', acc, v), start ?? 1n);
    },
  });
  // the predicates above return 0/1 numbers; Python returns bools
  for (const name of ['isinf', 'isnan', 'isfinite']) {
    const inner = m.get(name) as PyBuiltin;
    m.set(name, new PyBuiltin(name, (a, k, l) => inner.call(a, k, l) === 1));
  }
  m.set('pi', Math.PI);
  m.set('e', Math.E);
  m.set('tau', 2 * Math.PI);
  m.set('inf', Infinity);
  m.set('nan', NaN);
  return new PyModule('math', m);
}

// ---- copy, functools, itertools ------------------------------------------------------------

function shallowCopy(v: PyValue): PyValue {
  if (Array.isArray(v)) return [...v];
  if (v instanceof PyDict) return v.copy();
  if (v instanceof PySet) return new PySet(v.items(), v.frozen);
  return v;
}

function copyModule(): PyModule {
  return new PyModule('copy', fnTable({
    copy: (args, kwargs) => shallowCopy(bindArgs('copy', ['x'], args, kwargs)[0]!),
    deepcopy: (args, kwargs) => deepCopy(bindArgs('deepcopy', ['x', 'memo?'], args, kwargs)[0]!),
  }));
}

function functoolsModule(): PyModule {
  const partial = new PyBuiltin('partial', (args, kwargs) => {
    if (!args.length) pyError('TypeError', 'partial() missing required argument: func');
    const [fn, ...bound] = args;
    return new PyBuiltin('partial', (more, kw, loc) => callValue(fn, [...bound, ...more], [...kwargs.filter(([k]) => !kw.some(([k2]) => k2 === k)), ...kw], loc));
  });
  const reduce = new PyBuiltin('reduce', (args, kwargs, loc) => {
    noKwargs('reduce', kwargs);
    const [fn, it, init] = bindArgs('reduce', ['function', 'iterable', 'initial?'], args, []);
    const items = iterate(it!);
    if (init === undefined && !items.length) pyError('TypeError', 'reduce() of empty iterable with no initial value');
    let acc = init === undefined ? items.shift()! : init;
    for (const v of items) acc = callValue(fn!, [acc, v], [], loc);
    return acc;
  });
  return new PyModule('functools', new Map<string, PyValue>([['partial', partial], ['reduce', reduce]]));
}

function product(lists: PyValue[][]): PyValue[] {
  checkLength(lists.reduce((n, l) => n * l.length, 1));
  let out: PyValue[][] = [[]];
  for (const l of lists) out = out.flatMap((prefix) => l.map((v) => [...prefix, v]));
  return out.map((t) => new PyTuple(t));
}

function combinations(items: PyValue[], r: number): PyValue[] {
  const out: PyValue[] = [];
  const rec = (start: number, acc: PyValue[]) => {
    if (acc.length === r) {
      checkLength(out.length + 1);
      out.push(new PyTuple([...acc]));
      return;
    }
    for (let i = start; i < items.length; i++) rec(i + 1, [...acc, items[i]]);
  };
  rec(0, []);
  return out;
}

function itertoolsModule(): PyModule {
  const once = (name: string, items: PyValue[]) => new PyIterable(name, () => items, false);
  return new PyModule('itertools', fnTable({
    chain: (args, kwargs) => (noKwargs('chain', kwargs), once('chain', args.flatMap(iterate))),
    product: (args, kwargs) => {
      const [repeat] = bindArgs('product', ['repeat?'], [], kwargs);
      const lists = args.map(iterate);
      const n = repeat === undefined ? 1 : toIndex(repeat);
      return once('product', product(Array.from({ length: n }, () => lists).flat()));
    },
    repeat: (args, kwargs) => {
      const [v, times] = bindArgs('repeat', ['object', 'times?'], args, kwargs);
      if (times === undefined) pyError('ValueError', 'itertools.repeat() without times is endless; configs need a count');
      const n = Math.max(0, toIndex(times));
      checkLength(n);
      return once('repeat', Array(n).fill(v));
    },
    islice: (args, kwargs) => {
      noKwargs('islice', kwargs);
      const [it, ...rest] = args;
      const items = iterate(it);
      const [start, stop, step] = rest.length === 1 ? [null, rest[0], null] : [rest[0] ?? null, rest[1] ?? null, rest[2] ?? null];
      const s = start === null ? 0 : toIndex(start);
      const e = stop === null ? items.length : toIndex(stop);
      const k = step === null ? 1 : toIndex(step);
      if (s < 0 || e < 0 || k <= 0) pyError('ValueError', 'Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.');
      const out: PyValue[] = [];
      for (let i = s; i < Math.min(e, items.length); i += k) out.push(items[i]);
      return once('islice', out);
    },
    zip_longest: (args, kwargs) => {
      const [fill] = bindArgs('zip_longest', ['fillvalue?'], [], kwargs);
      const lists = args.map(iterate);
      const n = Math.max(0, ...lists.map((l) => l.length));
      return once('zip_longest', Array.from({ length: n }, (_, i) => new PyTuple(lists.map((l) => (i < l.length ? l[i] : (fill ?? null))))));
    },
    combinations: (args, kwargs) => {
      const [it, r] = bindArgs('combinations', ['iterable', 'r'], args, kwargs);
      return once('combinations', combinations(iterate(it!), toIndex(r!)));
    },
  }));
}

/**
 * The emulated standard modules by dotted name, built once per config file. Names of other
 * standard modules resolve to a module that refuses attribute use (it would need real Python).
 */
export class StandardModules {
  private readonly table = new Map<string, PyModule>();

  constructor(host: ModuleHost) {
    const path = pathModule();
    const os = osModule(path);
    const config = new PyModule('Config', fnTable({
      fromfile: (args, kwargs) => host.loadConfigFile(strArg('fromfile', bindArgs('fromfile', ['filename', 'use_predefined_variables?', 'import_custom_modules?', 'use_environment_variables?', 'lazy_import?'], args, kwargs)[0])),
    }));
    const readBase = new PyBuiltin('read_base', () => pyError('SyntaxError', 'read_base() is only used as `with read_base():` around imports of base configs'));
    const mmengineConfig = new PyModule('mmengine.config', new Map<string, PyValue>([['Config', config], ['read_base', readBase]]));
    for (const m of [os, mathModule(), copyModule(), functoolsModule(), itertoolsModule()]) this.table.set(m.name, m);
    this.table.set('os.path', path);
    this.table.set('posixpath', path);
    this.table.set('mmengine.config', mmengineConfig);
    this.table.set('mmengine.config.config', mmengineConfig);
    // `from mmengine import Config` is the one non-config mmengine import MMEngine runs for real
    this.table.set('mmengine', new PyModule('mmengine', new Map<string, PyValue>([['Config', config], ['config', mmengineConfig]])));
  }

  /** The module `name` (dotted), or null when it is neither emulated nor standard. */
  get(name: string): PyModule | null {
    const known = this.table.get(name);
    if (known) return known;
    if (isBuiltinModule(name)) return new PyModule(name, null);
    return null;
  }
}
