// What every repository of the store shares: the context the Store hands them (connection,
// statement cache, change signal) and the small helpers for rows, ids, `get_*` filters (caller
// regular expressions among them) and the listing options every `get_*` call takes (only_fields,
// order_by, page, page_size).
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { RE2JS } from "re2js";
import { appgwError } from "@appgw/sdk/errors";
import type { Db } from "./db";

/** ClearML's id format: 32 lowercase hex characters. */
export const newId = (): string => randomUUID().replace(/-/g, "");
export const now = (): string => new Date().toISOString();
export const json = (v: unknown): string => JSON.stringify(v);
export const parse = <T>(s: string): T => JSON.parse(s) as T;

/** A type, not an interface: the contract's loose objects need an index-compatible shape. */
export type Ref = {
  id: string;
  name: string;
};

/** Given by the Store to each repository; all of them share one connection and one cache. */
export interface StoreContext {
  readonly db: Db;
  /** A prepared statement, compiled once per SQL text. */
  sql(text: string): Database.Statement;
  /** Marks a change, bumping the revision routers and agents long-poll on. */
  touch(): void;
}

/** The base of the repositories: shorthands for the context they were given. */
export abstract class Repository {
  constructor(protected readonly ctx: StoreContext) {}

  protected get db(): Db {
    return this.ctx.db;
  }

  protected sql(text: string): Database.Statement {
    return this.ctx.sql(text);
  }

  protected touch(): void {
    this.ctx.touch();
  }
}

type Clause = { sql: string; args: unknown[] } | undefined;

export interface Where {
  where: string;
  args: unknown[];
}

/** `column = ?`, or nothing when the value is not given. */
export function eq(column: string, value: unknown): Clause {
  return value === undefined ? undefined : { sql: `${column} = ?`, args: [value] };
}

/**
 * `column` matches the caller's regular expression `pattern` (a NULL column never does), or
 * nothing when no pattern is given. The pattern is compiled here, before the query runs, so a
 * pattern the engine refuses is a 400 naming `column` even when no row would be tested.
 */
export function regex(column: string, pattern: string | undefined): Clause {
  if (pattern === undefined) return undefined;
  const literal = literalClause(column, pattern);
  if (literal) return literal;
  compilePattern(column, pattern);
  return { sql: `${MATCH_FUNCTION}(?, ?, ${column})`, args: [column, pattern] };
}

/** `^?` literal text (metacharacters escaped) `$?`: what exact lookups and plain searches send. */
const LITERAL = /^(\^?)((?:\\[^A-Za-z0-9]|[^\\.+*?()|[\]{}^$])*)(\$?)$/;

/**
 * A pattern that is literal text, with or without anchors, as plain SQL (case-sensitive): no
 * engine, no budget, any number of rows. The SDK's exact
 * lookups (`^<escaped>$`) and searches for a word take this path.
 */
function literalClause(column: string, pattern: string): Clause {
  const m = LITERAL.exec(pattern);
  if (!m) return undefined;
  const [, start, body, end] = m;
  const text = body!.replace(/\\(.)/g, "$1");
  // BINARY: a column declared NOCASE (group names) must still compare case-sensitively here.
  if (start && end) return { sql: `${column} = ? COLLATE BINARY`, args: [text] };
  if (text === "") return { sql: `${column} IS NOT NULL`, args: [] };
  const n = text.length;
  if (start) return { sql: `substr(${column}, 1, ?) = ? COLLATE BINARY`, args: [n, text] };
  if (end) return { sql: `substr(${column}, -?) = ? COLLATE BINARY`, args: [n, text] };
  return { sql: `instr(${column}, ?) > 0`, args: [text] };
}

// --- caller patterns ---------------------------------------------------------------------------
//
// `name`, `path` and `subdomain` filters are regular expressions from any signed-in caller, and
// they run inside a synchronous SQLite query, on the one event loop that also serves the API, the
// router and the agent. A backtracking engine (JS RegExp) takes exponential time on `(a+)+$`; RE2
// (re2js, pure JS) takes time linear in program size times value length. These limits bound both
// factors, and a budget the whole query, so that one query holds the loop well under 50 ms:
// - the program: at most MAX_PROGRAM instructions, bounded from the text before compiling, since
//   compiling is itself linear in the program (`a{1000}` 36 times is 36,000 instructions, 350 ms);
// - one match: program size times value length at most MAX_MATCH_WORK (a few ms at worst);
// - one query: matching stops with a 400 once its budget (`filterBudgetMs`, 20 ms) has passed.

/** The SQL function `regex` clauses call: `(field, pattern, value)`, registered by the Store. */
export const MATCH_FUNCTION = "appgw_match";
/** Enough for any literal pattern the contract takes (256 characters) with its anchors. */
const MAX_PROGRAM = 300;
/** The longest value the API stores in a filtered column (a task name, a route path). */
const MAX_VALUE = 256;
const MAX_MATCH_WORK = MAX_PROGRAM * MAX_VALUE;
export const DEFAULT_FILTER_BUDGET_MS = 20;
/** Compiled patterns kept, each a program of at most MAX_PROGRAM instructions. */
const CACHE_SIZE = 256;

/** Least recently used first (a Map keeps insertion order). */
const compiled = new Map<string, RE2JS>();

/** `pattern` compiled by RE2, or a 400 naming `field` with the reason. */
function compilePattern(field: string, pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re) {
    compiled.delete(pattern);
  } else {
    const bound = programBound(pattern);
    if (bound > MAX_PROGRAM) {
      throw refused(field, `is too complex: about ${bound} instructions, at most ${MAX_PROGRAM}`);
    }
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      const why = (err as Error).message.replace(/^error parsing regexp: /, "");
      throw refused(
        field,
        `is not a regular expression RE2 accepts (${why}); backreferences and lookaround are not supported`,
      );
    }
    if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  }
  compiled.set(pattern, re);
  return re;
}

/** When the current synchronous run of matches began; reset once the run ends. */
let runStarted: number | undefined;

/**
 * The body of MATCH_FUNCTION: 1 when `value` matches, 0 when not or NULL; a 400 once the query
 * has been matching for more than `budgetMs`.
 */
export function matchPattern(
  field: string,
  pattern: string,
  value: unknown,
  budgetMs: number,
): 0 | 1 {
  if (value === null) return 0;
  const text = String(value);
  const re = compiled.get(pattern) ?? compilePattern(field, pattern);
  if (re.programSize() * text.length > MAX_MATCH_WORK) {
    throw refused(field, `is too complex to match against a value of ${text.length} characters`);
  }
  const now = performance.now();
  if (runStarted === undefined) {
    runStarted = now;
    // A query calls this once per row without yielding: the budget covers all of them.
    queueMicrotask(() => (runStarted = undefined));
  } else if (now - runStarted > budgetMs) {
    throw refused(
      field,
      `took more than ${budgetMs} ms to match; use a simpler pattern or a narrower filter`,
    );
  }
  // Not `re.test()`: its lazy DFA builds a state per character on patterns whose DFA explodes,
  // tens of ms a value with the garbage it leaves; asking for the match position runs the
  // NFA (or the bit-state backtracker), linear with small constants and no such churn.
  return re.matcher(text).find() ? 1 : 0;
}

function refused(field: string, reason: string) {
  return appgwError("APPGW_INVALID_REQUEST", `${field}: ${reason}`, { field, reason });
}

/**
 * An upper bound of the instructions RE2 compiles `pattern` into, read from the text: a
 * character, an escape or a class counts one; a group, `|`, `*`, `+` and `?` one more; `{n,m}`
 * repeats what precedes it m times (n + 1 for `{n,}`), as RE2 expands it. Syntax errors are left
 * to RE2.
 */
function programBound(pattern: string): number {
  const enclosing: number[] = [];
  let size = 0; // of the innermost open group so far
  let last = 0; // of what a quantifier would repeat
  const atom = (n: number) => {
    size += n;
    last = n;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const repeat = c === "{" ? /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i)) : null;
    if (c === "\\") {
      const end = escapeEnd(pattern, i);
      atom(pattern.startsWith("\\Q", i) ? Math.max(1, end - i - 3) : 1);
      i = end;
    } else if (c === "[") {
      i = classEnd(pattern, i);
      atom(1);
    } else if (c === "(") {
      if (pattern[i + 1] === "?") {
        // `(?i)` sets flags and opens nothing; `(?:`, `(?i:`, `(?P<name>` open a group.
        const end = pattern.slice(i).search(/[:>)]/);
        i = end < 0 ? pattern.length : i + end;
        if (pattern[i] === ")") continue;
      }
      enclosing.push(size);
      size = 0;
    } else if (c === ")") {
      const inner = size + 2;
      size = enclosing.pop() ?? 0;
      atom(inner);
    } else if (c === "|") {
      size += 1;
      last = 0;
    } else if (c === "*" || c === "+" || c === "?") {
      size += 1;
    } else if (repeat) {
      const n = Number(repeat[1]);
      const m = repeat[2] === undefined ? n : repeat[3] ? Number(repeat[3]) : n + 1;
      size += last * (Math.max(m, 1) - 1) + m;
      last *= Math.max(m, 1);
      i += repeat[0].length - 1;
    } else {
      atom(1);
    }
  }
  return enclosing.reduce((a, b) => a + b, size + 3);
}

/** Index of the last character of the escape at `i`: `\Q...\E`, `\p{Greek}`, `\x{41}`, `\d`. */
function escapeEnd(pattern: string, i: number): number {
  const next = pattern[i + 1];
  if (next === "Q") {
    const end = pattern.indexOf("\\E", i + 2);
    return end < 0 ? pattern.length - 1 : end + 1;
  }
  if ((next === "p" || next === "P" || next === "x") && pattern[i + 2] === "{") {
    const end = pattern.indexOf("}", i + 2);
    return end < 0 ? pattern.length - 1 : end;
  }
  return i + 1;
}

/** Index of the `]` closing the class opened at `i` (`[]a]` and `[[:alpha:]]` included). */
function classEnd(pattern: string, i: number): number {
  let j = i + 1;
  if (pattern[j] === "^") j++;
  if (pattern[j] === "]") j++;
  for (; j < pattern.length; j++) {
    if (pattern[j] === "\\") j++;
    else if (pattern.startsWith("[:", j) && pattern.indexOf(":]", j + 2) >= 0) {
      j = pattern.indexOf(":]", j + 2) + 1;
    } else if (pattern[j] === "]") return j;
  }
  return pattern.length - 1;
}

/** `column IN (...)`; an empty list matches nothing. */
export function inList(column: string, values: readonly string[] | undefined): Clause {
  if (values === undefined) return undefined;
  return {
    sql: values.length ? `${column} IN (${values.map(() => "?").join(",")})` : "0",
    args: [...values],
  };
}

export function whereAll(parts: Clause[]): Where {
  const given = parts.filter((p) => p !== undefined);
  return {
    where: given.length ? `WHERE ${given.map((p) => p.sql).join(" AND ")}` : "",
    args: given.flatMap((p) => p.args),
  };
}

/** True when `err` is a UNIQUE (or PRIMARY KEY) violation on `table.column`. */
export function isUnique(err: unknown, column: string): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: string }).code : "";
  return (
    (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") &&
    String((err as Error).message).includes(column)
  );
}

// --- listing options ---------------------------------------------------------------------------

export interface ListOptions {
  /** Dotted paths to keep (`execution.queue`); `id` is always kept. */
  only_fields?: string[];
  /** Field paths, `-` first for descending; applied before paging. */
  order_by?: string[];
  /** Zero-based page of `page_size` items. */
  page?: number;
  page_size?: number;
}

/** ClearML's default page size when only `page` is given. */
const DEFAULT_PAGE_SIZE = 500;

/** Applies `order_by`, then the page, then `only_fields`, as ClearML's `get_*` calls do. */
export function listing<T extends object>(items: T[], opts: ListOptions): T[] {
  let out = items;
  if (opts.order_by?.length) out = sortBy(out, opts.order_by);
  if (opts.page !== undefined || opts.page_size !== undefined) {
    const size = opts.page_size ?? DEFAULT_PAGE_SIZE;
    const start = (opts.page ?? 0) * size;
    out = out.slice(start, start + size);
  }
  if (opts.only_fields?.length) {
    const fields = opts.only_fields;
    // Trimming is the point of only_fields: the typed shape is kept loosely, as ClearML's is.
    out = out.map((item) => project(item, fields) as T);
  }
  return out;
}

function valueAt(item: object, path: string): unknown {
  let v: unknown = item;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function project(item: object, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { id: (item as { id?: unknown }).id };
  for (const path of fields) {
    const value = valueAt(item, path);
    if (value === undefined) continue;
    const keys = path.split(".");
    let target = out;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      target[key] =
        next !== null && typeof next === "object" ? next : ({} as Record<string, unknown>);
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1] as string] = value;
  }
  return out;
}

function sortBy<T extends object>(items: T[], orderBy: string[]): T[] {
  const keys = orderBy.map((k) =>
    k.startsWith("-") ? { path: k.slice(1), dir: -1 } : { path: k.replace(/^\+/, ""), dir: 1 },
  );
  return [...items].sort((a, b) => {
    for (const { path, dir } of keys) {
      const c = compare(valueAt(a, path), valueAt(b, path));
      if (c !== 0) return c * dir;
    }
    return 0;
  });
}

/** Missing values first, numbers by value, anything else by its text. */
function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = typeof a === "object" ? JSON.stringify(a) : String(a as string);
  const y = typeof b === "object" ? JSON.stringify(b) : String(b as string);
  return x < y ? -1 : x > y ? 1 : 0;
}
