// What every repository of the store shares: the context the Store hands them (connection,
// statement cache, change signal) and the small helpers for rows, ids, `get_*` filters and the
// listing options every `get_*` call takes (only_fields, order_by, page, page_size).
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
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

/** `column REGEXP ?` (a NULL column never matches), or nothing when no pattern is given. */
export function regex(column: string, pattern: string | undefined): Clause {
  return pattern === undefined ? undefined : { sql: `${column} REGEXP ?`, args: [pattern] };
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
