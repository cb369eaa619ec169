// Projects: the folders ClearML files tasks under. `Task.init(project_name=...)` looks one up by
// name and creates it when missing; the gateway itself reads nothing from them.
import type { Project } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import { inList, isUnique, json, newId, now, parse, regex, Repository, whereAll } from "./sql";

interface ProjectRow {
  id: string;
  name: string;
  description: string;
  user_id: string;
  tags: string;
  system_tags: string;
  default_output_destination: string | null;
  created: string;
  last_update: string;
}

export interface NewProject {
  name: string;
  description?: string | null;
  tags?: string[] | null;
  system_tags?: string[] | null;
  default_output_destination?: string | null;
}

export class Projects extends Repository {
  create(p: NewProject, userId: string): string {
    const id = newId();
    const ts = now();
    try {
      this.sql(
        `INSERT INTO projects (id, name, description, user_id, tags, system_tags,
           default_output_destination, created, last_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        p.name,
        p.description ?? "",
        userId,
        json(p.tags ?? []),
        json(p.system_tags ?? []),
        p.default_output_destination ?? null,
        ts,
        ts,
      );
    } catch (err) {
      if (isUnique(err, "projects.name")) {
        throw appgwError("APPGW_ALREADY_EXISTS", `name: project '${p.name}' exists`, {
          field: "name",
          reason: "already exists",
        });
      }
      throw err;
    }
    return id;
  }

  /** The project; throws APPGW_PROJECT_NOT_FOUND (400/401) naming `field`. */
  get(id: string, field = "project"): Project {
    const row = this.sql("SELECT * FROM projects WHERE id = ?").get(id) as ProjectRow | undefined;
    if (!row) {
      throw appgwError("APPGW_PROJECT_NOT_FOUND", `${field}: no project with id '${id}'`, {
        field,
        reason: "unknown project id",
      });
    }
    return toProject(row);
  }

  /** `name` and `basename` are regular expressions (a project's basename is its name here). */
  list(filter: { id?: string[]; name?: string; basename?: string }): Project[] {
    const { where, args } = whereAll([
      inList("id", filter.id),
      regex("name", filter.name),
      regex("name", filter.basename),
    ]);
    const rows = this.sql(`SELECT * FROM projects ${where} ORDER BY name`).all(
      ...args,
    ) as ProjectRow[];
    return rows.map(toProject);
  }
}

function toProject(r: ProjectRow): Project {
  return {
    id: r.id,
    name: r.name,
    basename: r.name,
    description: r.description,
    user: r.user_id,
    created: r.created,
    last_update: r.last_update,
    tags: parse(r.tags),
    system_tags: parse(r.system_tags),
    default_output_destination: r.default_output_destination,
  };
}
