// ServiceAccount's dynamic provider: `auth.create_service_user`, whose secret is returned once.
import { z } from "zod";
import type { AppGatewayClient, User } from "@appgw/sdk";
import { actions, escapeRegex, hasCode } from "@appgw/sdk";
import { checkInputs, clientFor } from "../common";
import type { ServiceAccountInputs, ServiceAccountState } from "../serviceAccount";
import type { Implementation } from "../shim";

// The request schema of `auth.create_service_user` (sdk/contract.ts), so `check` refuses what
// the gateway would refuse, naming our property instead of ClearML's field.
const createRequest = actions["auth.create_service_user"].request.shape;

const inputsSchema = z.strictObject({
  name: createRequest.name,
  allowRunningAsOwner: z.boolean().default(false),
  credentialsExpirationSec: createRequest.credentials_expiration_sec,
});

function inputsOf(state: ServiceAccountState): ServiceAccountInputs {
  const { name, allowRunningAsOwner, credentialsExpirationSec } = state;
  const inputs: ServiceAccountInputs = { name, allowRunningAsOwner };
  if (credentialsExpirationSec !== undefined) {
    inputs.credentialsExpirationSec = credentialsExpirationSec;
  }
  return inputs;
}

/**
 * The user with this id, or undefined. Existence is decided by listing (`users.get_all {id}`):
 * the error ClearML gives for a missing user on other calls is not published for service
 * accounts (docs/clearml-compatibility.md).
 */
async function findUser(client: AppGatewayClient, id: string): Promise<User | undefined> {
  return (await client.users.list({ id: [id] })).find((u) => u.id === id);
}

async function idsNamed(client: AppGatewayClient, name: string): Promise<Set<string>> {
  const users = await client.users.list({ name: `^${escapeRegex(name)}$` });
  return new Set(users.filter((u) => u.name === name).map((u) => u.id));
}

/**
 * The answer to `create_service_user` was lost after the request went out: the account may
 * exist, but its secret is gone for good, so it can never be adopted. Accounts of that name
 * that appeared during the call are ours: delete them, so a retry starts clean.
 */
async function dropOrphans(
  client: AppGatewayClient,
  name: string,
  before: Set<string>,
  err: unknown,
): Promise<Error> {
  const orphans = [...(await idsNamed(client, name).catch(() => new Set<string>()))].filter(
    (id) => !before.has(id),
  );
  const left: string[] = [];
  for (const id of orphans) {
    await client.users.delete(id).catch(() => left.push(id));
  }
  const message = (err as Error).message;
  if (left.length) {
    return new Error(
      `service account '${name}': the answer to its creation was lost (${message}), and the ` +
        `account it created (${left.join(", ")}) could not be deleted; its secret is lost. Delete ` +
        "it in ClearML's Users & Groups page, then run `pulumi up` again",
    );
  }
  return new Error(
    `service account '${name}': the answer to its creation was lost (${message})` +
      (orphans.length ? "; the account it created was deleted, since its secret was lost" : "") +
      ". Run `pulumi up` again",
  );
}

export const serviceAccountImpl: Implementation<ServiceAccountInputs, ServiceAccountState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    // ClearML publishes `users.update_service_user` (name, allow_running_as_owner) but no way
    // to change the key pair's lifetime after creation. Replacing on every change keeps one
    // code path, and the replacement's fresh key pair is what RouterDeployment rolls onto.
    const replaces = (["name", "allowRunningAsOwner", "credentialsExpirationSec"] as const).filter(
      (k) => olds[k] !== news[k],
    );
    return {
      changes: replaces.length > 0,
      replaces,
      // A replacement under the same name must delete first: the name is unique on the
      // reference gateway. Under a new name, create first so that routers using the old keys
      // keep working until they get the new ones.
      deleteBeforeReplace: replaces.length > 0 && olds.name === news.name,
    };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    const before = await idsNamed(client, inputs.name);
    let created;
    try {
      created = await client.auth.createServiceUser({
        name: inputs.name,
        allow_running_as_owner: inputs.allowRunningAsOwner,
        ...(inputs.credentialsExpirationSec !== undefined
          ? { credentials_expiration_sec: inputs.credentialsExpirationSec }
          : {}),
      });
    } catch (err) {
      if (hasCode(err, "APPGW_CONNECTION"))
        throw await dropOrphans(client, inputs.name, before, err);
      // A taken name is 400/801 on ClearML's open-source server; other servers may answer
      // an unclassified 400.
      const refused = (err as { statusCode?: unknown }).statusCode === 400;
      if (hasCode(err, "APPGW_ALREADY_EXISTS") || (refused && before.size > 0)) {
        throw new Error(
          `service account '${inputs.name}': a user of that name already exists. Service accounts ` +
            "cannot be adopted (ClearML returns a secret only when it creates the account): " +
            `choose another name, or delete the existing one first (${(err as Error).message})`,
        );
      }
      throw err;
    }
    const { id, credentials } = created;
    const outs: ServiceAccountState = {
      ...inputs,
      userId: id,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
      ...(credentials.expire ? { expire: credentials.expire } : {}),
    };
    return { id, outs };
  },

  async read(id, props, conn) {
    const user = await findUser(clientFor(conn), id);
    if (!user) return {};
    // The API never returns the secret (nor allow_running_as_owner, outside the service-users
    // listing): both come from state. A renamed account shows up as drift of `name`.
    const state: ServiceAccountState = { ...props, name: user.name, userId: id };
    return { id, props: state, inputs: inputsOf(state) };
  },

  async update(id, olds) {
    // Unreachable: `diff` replaces on every change, so the engine never calls update.
    throw new Error(
      `service account '${olds.name}' (${id}): changes replace the account; update is not supported`,
    );
  },

  async delete(id, props, conn) {
    const client = clientFor(conn);
    if (!(await findUser(client, id))) return;
    try {
      await client.users.delete(id);
    } catch (err) {
      // Gone meanwhile (deleted by hand, or by a concurrent run): the wanted outcome.
      if (await findUser(client, id)) {
        // ClearML documents `users.delete` for system and root callers only (how its web UI
        // deletes a service account is not published): say what to do instead.
        const hint =
          (err as { statusCode?: unknown }).statusCode === 403
            ? ". This server lets only system or root delete users: delete the account in the " +
              "web UI (Settings > Users & Groups), then run `pulumi destroy` again"
            : "";
        throw new Error(
          `service account '${props.name}' (${id}) could not be deleted: ${(err as Error).message}${hint}`,
        );
      }
    }
  },
};
