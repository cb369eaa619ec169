// What every repository of the store shares: the context the Store hands them (connection,
// statement cache, change signal) and the small helpers for rows, ids and `get_*` filters.
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Db } from "./db";

export const newId = (): string => randomUUID().replace(/-/g, "");
export const now = (): string => new Date().toISOString();
export const json = (v: unknown): string => JSON.stringify(v);
export const parse = <T>(s: string): T => JSON.parse(s) as T;

export interface Ref {
  id: string;
  name: string;
}

/** Given by the Store to each repository; all of them share one connection and one cache. */
export interface StoreContext {
  readonly db: Db;
  /** A prepared statement, compiled once per SQL text. */
  sql(text: string): Database.Statement;
  /** Marks a change routers must see. Listeners run after the caller's transaction commits. */
  touch(): void;
  /** Wakes the long polls without a new revision: nothing a router serves has changed. */
  wake(): void;
  /** The revision `touch` bumps; routers long-poll on it. */
  revision(): number;
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

/** The `get_*` filters every listing shares: ids, a name regex, the enabled flag. */
export function filters(f: { id?: string[]; name?: string; enabled?: boolean }): Where {
  return whereAll([
    inList("id", f.id),
    f.name === undefined ? undefined : { sql: "name REGEXP ?", args: [f.name] },
    eq("enabled", f.enabled === undefined ? undefined : +f.enabled),
  ]);
}

export interface Where {
  where: string;
  args: unknown[];
}

/** `column = ?`, or nothing when the value is not given. */
export function eq(column: string, value: unknown): { sql: string; args: unknown[] } | undefined {
  return value === undefined ? undefined : { sql: `${column} = ?`, args: [value] };
}

/** `column IN (...)`; an empty list matches nothing. */
export function inList(
  column: string,
  values: string[] | undefined,
): { sql: string; args: unknown[] } | undefined {
  if (values === undefined) return undefined;
  return {
    sql: values.length ? `${column} IN (${values.map(() => "?").join(",")})` : "0",
    args: values,
  };
}

export function whereAll(parts: ({ sql: string; args: unknown[] } | undefined)[]): Where {
  const given = parts.filter((p) => p !== undefined);
  return {
    where: given.length ? `WHERE ${given.map((p) => p.sql).join(" AND ")}` : "",
    args: given.flatMap((p) => p.args),
  };
}

export function isUnique(err: unknown, column: string): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE" &&
    String((err as Error).message).includes(column)
  );
}
