import * as pulumi from "@pulumi/pulumi";
import { providerShim, registeredProps } from "./shim";

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

/** The inputs as `check` completes them. */
export interface ServiceAccountInputs {
  name: string;
  allowRunningAsOwner: boolean;
  credentialsExpirationSec?: number;
}

/** The inputs plus the account and the key pair ClearML returned when it was created. */
export interface ServiceAccountState extends ServiceAccountInputs {
  userId: string;
  accessKey: string;
  /** Returned once, by `auth.create_service_user`: state is the only copy. */
  secretKey: string;
  /** When the key pair expires, if the server set an expiry. */
  expire?: string;
}

/** The serialized provider: shared by every ServiceAccount, since Pulumi caches serialization by identity. */
export const serviceAccountProvider = providerShim("serviceAccountImpl");

/** The outputs made secret in state, whatever the caller's options. */
const SECRET_OUTPUTS = ["secretKey"];

/**
 * A ClearML service account (`auth.create_service_user`) and its first key pair: the identity a
 * router (RouterDeployment's `serviceAccount`) or an agent logs in with. It holds a router's
 * rights, not an administrator's: it may register as a router, read the router's configuration
 * and change any user's task (endpoint write-back, an agent's reports), and nothing more than a
 * user otherwise (docs/clearml-compatibility.md).
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
