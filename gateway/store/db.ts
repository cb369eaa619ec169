// Opens the SQLite file and brings its schema up to date. WAL keeps readers (long polls, the
// router test runner) from blocking writers; `synchronous = FULL` makes every acknowledged
// write survive a crash or power loss, as the API promises.
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";

/** Each entry runs once, in order; `PRAGMA user_version` records how many ran. Append only. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL,
    access_key TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created TEXT NOT NULL
  );

  CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL,
    system INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
  );
  CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
  );

  CREATE TABLE routes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    path TEXT UNIQUE,
    subdomain TEXT UNIQUE,
    load_balanced INTEGER NOT NULL,
    authenticated INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_update TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    CHECK ((path IS NULL) <> (subdomain IS NULL))
  );
  CREATE TABLE access_rules (
    id TEXT PRIMARY KEY,
    route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    UNIQUE (route_id, group_id)
  );

  CREATE TABLE queues (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
  CREATE TABLE queue_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL UNIQUE,
    added TEXT NOT NULL
  );

  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    status_message TEXT NOT NULL DEFAULT '',
    queue_id TEXT,
    worker TEXT,
    user_id TEXT NOT NULL,
    system_tags TEXT NOT NULL,
    runtime TEXT NOT NULL,
    entry_point TEXT NOT NULL,
    params TEXT NOT NULL,
    created TEXT NOT NULL,
    started TEXT,
    completed TEXT,
    last_update TEXT NOT NULL
  );
  CREATE INDEX tasks_status ON tasks(status);
  CREATE TABLE task_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    msg TEXT NOT NULL
  );
  CREATE INDEX task_log_task ON task_log(task_id, seq);

  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    queues TEXT NOT NULL,
    task TEXT,
    registered TEXT NOT NULL,
    last_activity TEXT NOT NULL
  );

  CREATE TABLE routers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    domain TEXT NOT NULL,
    version TEXT NOT NULL,
    queues TEXT NOT NULL,
    started TEXT NOT NULL,
    last_update TEXT NOT NULL
  );
  -- What each router last reported about each static route.
  CREATE TABLE router_routes (
    router_id TEXT NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    targets TEXT NOT NULL,
    tasks TEXT NOT NULL,
    PRIMARY KEY (router_id, route_id)
  );
  -- Only the latest test of each router is kept, as in the product.
  CREATE TABLE router_tests (
    router_id TEXT PRIMARY KEY REFERENCES routers(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    status_message TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    started TEXT NOT NULL,
    completed TEXT,
    run_time_sec REAL,
    queue_id TEXT NOT NULL,
    worker TEXT,
    task_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    browser_endpoint TEXT,
    endpoint TEXT,
    timeout_sec INTEGER NOT NULL,
    log TEXT NOT NULL
  );
  `,
];

export type Db = Database.Database;

export function openDb(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, "appgw.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this gateway knows (${MIGRATIONS.length}); upgrade the gateway`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
