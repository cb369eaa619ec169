// Opens the SQLite file and brings its schema up to date. WAL keeps readers (long polls) from
// blocking writers; `synchronous = FULL` makes every acknowledged write survive a crash or power
// loss, as the API promises.
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";

/** Each entry runs once, in order; `PRAGMA user_version` records how many ran. Append only. */
export const MIGRATIONS: readonly string[] = [
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
  // v0.2: ClearML's documented API. Rebuilt tables are copied, so a v0.1 data dir keeps its users
  // (and their key pairs), groups, routes (their access groups become `user_groups`), queues and
  // tasks. Routers, their reports and workers are ephemeral: they report again within seconds.
  // Router tests are no longer stored: they are derived from the router-test tasks.
  `
  -- Users: a role instead of the admin flag, a service-account flag, and any number of key pairs.
  CREATE TABLE users_v2 (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    service INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
  );
  INSERT INTO users_v2 (id, name, role, service, created)
    SELECT id, name, CASE WHEN admin = 1 THEN 'admin' ELSE 'user' END, 0, created FROM users;
  CREATE TABLE credentials (
    access_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    -- 'default': the pair a user was made with, which bootstrap and appgw.add_user replace.
    label TEXT,
    created TEXT NOT NULL,
    expire TEXT
  );
  CREATE INDEX credentials_user ON credentials(user_id);
  INSERT INTO credentials (access_key, user_id, secret_hash, label, created)
    SELECT access_key, id, secret_hash, 'default', created FROM users;
  DROP TABLE users;
  ALTER TABLE users_v2 RENAME TO users;

  -- Routes: the old access rules were the route's groups; they become its user_groups.
  ALTER TABLE routes RENAME COLUMN authenticated TO auth_enabled;
  CREATE TABLE route_groups (
    route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (route_id, group_id)
  );
  INSERT INTO route_groups (route_id, group_id) SELECT route_id, group_id FROM access_rules;
  DROP TABLE access_rules;

  -- Access rules in ClearML's shape: any entity type, an entity id or '*', users and groups.
  CREATE TABLE access_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    access_permission TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    created TEXT NOT NULL,
    last_update TEXT NOT NULL
  );
  CREATE INDEX access_rules_entity ON access_rules(entity_type, entity_id);
  CREATE TABLE access_rule_groups (
    rule_id TEXT NOT NULL REFERENCES access_rules(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, group_id)
  );
  CREATE TABLE access_rule_users (
    rule_id TEXT NOT NULL REFERENCES access_rules(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, user_id)
  );

  ALTER TABLE queues ADD COLUMN display_name TEXT;
  ALTER TABLE queues ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE queues ADD COLUMN system_tags TEXT NOT NULL DEFAULT '[]';

  -- Tasks: ClearML's fields. The entry point moves into script, the flat params into the
  -- 'General' hyperparameter section.
  CREATE TABLE tasks_v2 (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    status_message TEXT NOT NULL DEFAULT '',
    status_changed TEXT NOT NULL,
    project TEXT,
    comment TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL,
    queue_id TEXT,
    last_worker TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    system_tags TEXT NOT NULL DEFAULT '[]',
    script TEXT NOT NULL DEFAULT '{}',
    hyperparams TEXT NOT NULL DEFAULT '{}',
    runtime TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    started TEXT,
    completed TEXT,
    last_update TEXT NOT NULL
  );
  INSERT INTO tasks_v2 (id, name, type, status, status_reason, status_message, status_changed,
      user_id, queue_id, last_worker, system_tags, script, hyperparams, runtime, created, started,
      completed, last_update)
    SELECT id, name, type, status, status_reason, status_message, last_update, user_id, queue_id,
      worker, system_tags,
      CASE WHEN entry_point = '' THEN '{}' ELSE json_object('entry_point', entry_point) END,
      CASE WHEN params = '{}' THEN '{}' ELSE json_object('General', json((
        SELECT json_group_object(p.key, json_object('section', 'General', 'name', p.key, 'value', p.value))
          FROM json_each(tasks.params) AS p))) END,
      runtime, created, started, completed, last_update
    FROM tasks;
  DROP TABLE tasks;
  ALTER TABLE tasks_v2 RENAME TO tasks;
  CREATE INDEX tasks_status ON tasks(status);

  -- The console log as ClearML's log events: epoch-ms timestamps, a level, the worker.
  CREATE TABLE task_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    level TEXT NOT NULL,
    worker TEXT,
    msg TEXT NOT NULL
  );
  INSERT INTO task_events (task_id, timestamp, level, msg)
    SELECT task_id, CAST(round((julianday(timestamp) - 2440587.5) * 86400000) AS INTEGER), 'info', msg
    FROM task_log ORDER BY seq;
  DROP TABLE task_log;
  CREATE INDEX task_events_task ON task_events(task_id, seq);

  DROP TABLE workers;
  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    queues TEXT NOT NULL,
    task TEXT,
    queue TEXT,
    timeout_sec INTEGER NOT NULL,
    register_time TEXT NOT NULL,
    last_activity_time TEXT NOT NULL,
    last_report_time TEXT
  );

  DROP TABLE router_tests;
  DROP TABLE router_routes;
  DROP TABLE routers;
  -- A router's id is its ROUTER_NAME. routes and tasks are its last report's status, as sent.
  CREATE TABLE routers (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    timeout_sec INTEGER NOT NULL,
    uptime INTEGER,
    last_update_timestamp INTEGER,
    routes TEXT NOT NULL,
    tasks TEXT NOT NULL,
    registered TEXT NOT NULL,
    last_report TEXT NOT NULL
  );
  `,
  // v0.5: which tool manages a route, as the `X-Appgw-Managed-By` header of its last write said
  // (JSON `{tool, stack, resource}`; NULL: none said). Existing routes have none.
  `
  ALTER TABLE routes ADD COLUMN managed_by TEXT;
  `,
  // v0.6: what ClearML's SDK and agent write. Projects, and the task fields the gateway keeps
  // as sent (configuration, container, models, execution's parameters, ...) as one JSON object.
  `
  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    system_tags TEXT NOT NULL DEFAULT '[]',
    default_output_destination TEXT,
    created TEXT NOT NULL,
    last_update TEXT NOT NULL
  );
  ALTER TABLE tasks ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
  `,
  // Service accounts had the admin role; they now have a router's rights only (api/policy.ts).
  `
  UPDATE users SET role = 'user' WHERE service = 1 AND role = 'admin';
  `,
];

export type Db = Database.Database;

export function openDb(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, "appgw.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * Runs the missing migrations with foreign keys off: rebuilding a table means dropping the old
 * one, which would otherwise cascade into every table that references it. The keys are checked
 * before each migration commits.
 */
function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this gateway knows (${MIGRATIONS.length}); upgrade the gateway`,
    );
  }
  db.pragma("foreign_keys = OFF");
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      const broken = db.pragma("foreign_key_check") as unknown[];
      if (broken.length) {
        throw new Error(`migration ${v + 1} left ${broken.length} broken foreign key(s)`);
      }
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  db.pragma("foreign_keys = ON");
}
