import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, User } from "@appgw/sdk";
import { actions, escapeRegex, hasCode } from "@appgw/sdk";
import { checkInputs, clientFor } from "./common";
import { providerShim, registeredProps, type Implementation } from "./shim";

export interface ServiceAccountArgs {
  /**
   * The service account's name, as ClearML's Users & Groups page shows it. Changing it replaces
   * the account (and so its keys).
   */
  name: pulumi.Input<string>;
  /**
   * Let tasks run by this account run as the task's owner (`allow_running_as_owner`). Default
   * false. Changing it replaces the account.
   */
  allowRunningAsOwner?: pulumi.Input<boolean>;
  /**
   * Lifetime of the account's first key pair, in seconds (`credentials_expiration_sec`). Unset:
   * the server's default. Changing it replaces the account, since keys cannot be re-issued.
   */
  credentialsExpirationSec?: pulumi.Input<number>;
}

// The request schema of `auth.create_service_user` (sdk/contract.ts), so `check` refuses what
// the gateway would refuse, naming our property instead of ClearML's field.
const createRequest = actions["auth.create_service_user"].request.shape;

const inputsSchema = z.strictObject({
  name: createRequest.name,
  allowRunningAsOwner: z.boolean().default(false),
  credentialsExpirationSec: createRequest.credentials_expiration_sec,
});

type ServiceAccountInputs = z.output<typeof inputsSchema>;

/** The inputs plus the account and the key pair ClearML returned when it was created. */
export interface ServiceAccountState extends ServiceAccountInputs {
  userId: string;
  accessKey: string;
  /** Returned once, by `auth.create_service_user`: state is the only copy. */
  secretKey: string;
  /** When the key pair expires, if the server set an expiry. */
  expire?: string;
}

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

/** The serialized provider: shared by every ServiceAccount, since Pulumi caches serialization by identity. */
export const serviceAccountProvider = providerShim("serviceAccountImpl");

/** The outputs made secret in state, whatever the caller's options. */
const SECRET_OUTPUTS = ["secretKey"];

/**
 * A ClearML service account (`auth.create_service_user`) and its first key pair: the identity a
 * router (RouterDeployment's `serviceAccount`) or an automation logs in with.
 *
 * `secretKey` is returned once, at creation; it is kept only in this resource's state, as a
 * Pulumi secret (encrypted, never shown in plain text). Every change replaces the account, and
 * with it the keys. Existing accounts cannot be adopted, since their secret cannot be read back.
 *
 * Deleting it calls `users.delete`: ClearML does not publish how its UI deletes a service
 * account, so this is inferred (docs/clearml-compatibility.md).
 */
export class ServiceAccount extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly allowRunningAsOwner: pulumi.Output<boolean>;
  declare public readonly credentialsExpirationSec: pulumi.Output<number | undefined>;
  /** The account's user id (also the resource's id). */
  declare public readonly userId: pulumi.Output<string>;
  /** `CLEARML_API_ACCESS_KEY` of the account. */
  declare public readonly accessKey: pulumi.Output<string>;
  /** `CLEARML_API_SECRET_KEY` of the account. Always a secret. */
  declare public readonly secretKey: pulumi.Output<string>;
  /** When the key pair expires, if the server set an expiry. */
  declare public readonly expire: pulumi.Output<string | undefined>;

  constructor(name: string, args: ServiceAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serviceAccountProvider,
      name,
      registeredProps(args, [
        "allowRunningAsOwner",
        "credentialsExpirationSec",
        "userId",
        "accessKey",
        "secretKey",
        "expire",
      ]),
      {
        ...opts,
        // Pulumi keeps computed outputs in plaintext state unless they are named here.
        additionalSecretOutputs: [
          ...new Set([...(opts?.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS]),
        ],
      },
      "appgw",
      "ServiceAccount",
    );
  }
}
