import type { Credentials, User } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import { COMPANY, listing, type Role, type Store } from "../../store";
import { generateCredentials, hashSecret } from "../tokens";
import type { Handlers } from "./types";

const expiry = (sec: number | undefined): string | null =>
  sec === undefined ? null : new Date(Date.now() + sec * 1000).toISOString();

/** A new key pair for the user: the secret is returned here and never again. */
async function newCredentials(
  store: Store,
  userId: string,
  opts: { expirationSec?: number; label?: string },
): Promise<Credentials> {
  const { accessKey, secretKey } = generateCredentials();
  const expire = expiry(opts.expirationSec);
  const record = store.users.addCredentials(userId, {
    accessKey,
    secretHash: await hashSecret(secretKey),
    label: opts.label,
    expire,
  });
  return { access_key: accessKey, secret_key: secretKey, expire, label: record.label };
}

/** A new user with a first key pair (generated unless given); the secret is returned only here. */
export async function createUser(
  store: Store,
  user: { name: string; role: Role; service?: boolean },
  opts: { accessKey?: string; secretKey?: string; expirationSec?: number } = {},
): Promise<{ id: string; credentials: Credentials }> {
  const generated = generateCredentials();
  const accessKey = opts.accessKey ?? generated.accessKey;
  const secretKey = opts.secretKey ?? generated.secretKey;
  const expire = expiry(opts.expirationSec);
  const id = store.users.create(user, {
    accessKey,
    secretHash: await hashSecret(secretKey),
    expire,
  });
  const label = store.users.credentials(accessKey)?.label ?? null;
  return { id, credentials: { access_key: accessKey, secret_key: secretKey, expire, label } };
}

export const auth: Handlers<"auth"> = {
  "auth.login": async (body, { user, tokens, settings }) => {
    // The server may shorten what the client asks for (ClearML's rule); ours caps it.
    const ttl = Math.min(body.expiration_sec ?? settings.tokenTtlSec, settings.tokenTtlSec);
    return { token: await tokens.sign({ sub: user.id, name: user.name }, ttl) };
  },
  "auth.create_credentials": async (body, { user, store }) => ({
    credentials: await newCredentials(store, user.id, {
      expirationSec: body.expiration_sec,
      label: body.label,
    }),
  }),
  "auth.revoke_credentials": (body, { user, store }) => {
    if (body.access_key === undefined) {
      throw appgwError("APPGW_MISSING_FIELDS", "access_key: name the key pair to revoke", {
        field: "access_key",
        reason: "is required",
      });
    }
    return { revoked: store.users.revokeCredentials(user.id, body.access_key) };
  },
  "auth.create_service_user": (body, { store }) =>
    createUser(
      store,
      { name: body.name, role: "user", service: true },
      { expirationSec: body.credentials_expiration_sec },
    ),
};

export const users: Handlers<"users"> = {
  "users.get_all": (body, { store }) => {
    const members = store.groups.membership();
    const all: User[] = store.users.list(body).map((u) => ({
      id: u.id,
      name: u.name,
      role: u.role,
      company: COMPANY.id,
      created: u.created,
      sec_groups: members[u.id] ?? [],
    }));
    return { users: listing(all, body) };
  },
  "users.get_current_user": (_body, { user, store }) => {
    const me = store.users.byId(user.id);
    if (!me) {
      throw appgwError("APPGW_USER_NOT_FOUND", "the current user no longer exists", {
        field: "authorization",
      });
    }
    return {
      user: { id: me.id, name: me.name, role: me.role, created: me.created, company: COMPANY },
      sec_groups: store.groups.ofUser(me),
    };
  },
  // The reference gateway keeps no configuration vaults.
  "users.get_vaults": () => ({ vaults: [] }),
  "users.delete": (body, { user, store }) => {
    if (body.user === user.id) {
      throw appgwError("APPGW_INVALID_REQUEST", "user: you cannot delete yourself", {
        field: "user",
        reason: "is the caller",
      });
    }
    if (!store.users.delete(body.user)) {
      throw appgwError("APPGW_USER_NOT_FOUND", `user: no user with id '${body.user}'`, {
        field: "user",
        reason: "unknown user id",
      });
    }
    return { deleted: 1 };
  },
};
