import { appgwError } from "../../../sdk/errors";
import { generateCredentials, hashSecret } from "../tokens";
import type { Handlers } from "./types";

export const auth: Handlers<"auth"> = {
  "auth.login": async (body, { user, store, tokens, settings }) => {
    const ttl = body.expiration_sec ?? settings.tokenTtlSec;
    const groups = store.groups.ofUser(user).map((g) => g.id);
    const token = await tokens.sign(
      { sub: user.id, name: user.name, admin: user.admin, groups },
      ttl,
    );
    return { token, expires_in: ttl };
  },
};

export const users: Handlers<"users"> = {
  "users.create": async (body, { store }) => {
    const generated = generateCredentials();
    const accessKey = body.access_key ?? generated.accessKey;
    const secretKey = body.secret_key ?? generated.secretKey;
    const id = store.users.create({
      name: body.name,
      admin: body.admin ?? false,
      accessKey,
      secretHash: await hashSecret(secretKey),
    });
    return { id, credentials: { access_key: accessKey, secret_key: secretKey } };
  },
  "users.get_all": (body, { store }) => ({ users: store.users.list(body) }),
  "users.get_current_user": (_body, { user, store }) => {
    const [me] = store.users.list({ id: [user.id] });
    if (!me) throw appgwError("APPGW_USER_NOT_FOUND", "the current user no longer exists");
    return { user: { ...me, groups: store.groups.ofUser(user) } };
  },
  "users.delete": (body, { user, store }) => {
    if (body.user === user.id) {
      throw appgwError("APPGW_INVALID_REQUEST", "you cannot delete yourself", { field: "user" });
    }
    const deleted = store.users.delete(body.user);
    if (!deleted)
      throw appgwError("APPGW_USER_NOT_FOUND", `user ${body.user} not found`, { field: "user" });
    return { deleted };
  },
};
