import { NotFoundError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/records.ts";
import type { RateLimit } from "../auth/rate-limit.ts";
import type { UserView } from "./user-json.ts";
import { isProvenAdmin } from "../domain/accounts.ts";
import type { UsersRepo } from "../repos/users.ts";
import { readJsonObject } from "./body.ts";
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { Audit } from "./audit.ts";
import type { Route } from "./routes.ts";
import { json } from "./respond.ts";
import { z } from "zod";
import { EmptyAnswer, NewUserBody, parseBody, UserAnswer, UserPatchBody } from "./schemas.ts";

export type UserRoutesOptions = {
  users: UsersRepo;
  maxBodyBytes: number;
  /** ACCESS_POLICY: under "self", a user reaches only itself unless it is an admin. */
  accessPolicy: "open" | "self";
  /** Lower-cased emails that may be admins (ADMIN_EMAILS); an account needs a grant for its address too (see isProvenAdmin). */
  adminEmails: readonly string[];
  audit: Audit;
  /** The user JSON of every answer (with `email_verified` while EMAIL_VERIFICATION is on). */
  view: UserView;
  /** SIGNUP: who may create users here. */
  signup: "authenticated" | "open" | "closed";
  /** Accounts created per client address under SIGNUP=open. */
  signupLimit: RateLimit;
  clientOf: (c: Context<AppEnv>) => string;
  /** Marks a sign-up unverified and emails it a link; null while EMAIL_VERIFICATION is off. */
  startVerification: ((user: UserRecord) => Promise<void>) | null;
};

/** `/api/v1/users` and `/api/v1/users/:id`. */
export function userRoutes(o: UserRoutesOptions): Route[] {
  const { users, maxBodyBytes, accessPolicy, adminEmails, audit, view } = o;
  const admins = new Set(adminEmails);
  /**
   * Whether the request's user may act on every user (always, under the
   * original's open policy). An email in ADMIN_EMAILS is only a claim
   * (anyone may sign up with it): the account's grant is read to prove it,
   * and only for those emails, so other requests cost no extra read.
   */
  const actsOnAll = async (c: Context<AppEnv>): Promise<boolean> => {
    if (accessPolicy === "open") return true;
    const me = c.get("user");
    if (!me || !admins.has(me.email?.toLowerCase() ?? "")) return false;
    return isProvenAdmin(me.email, await users.account(me.id), admins);
  };
  /** Under ACCESS_POLICY=self, another user's record is off limits: 403, as a missing right is. */
  const mayReach = async (c: Context<AppEnv>, id: string) => {
    if (c.get("user")?.id !== id && !(await actsOnAll(c))) throw new HttpError(403, "Forbidden");
  };
  /** The user of the path's `:id`: 403 when the access policy keeps it from the caller, 404 when there is none. */
  const userAt = async (c: Context<AppEnv>) => {
    await mayReach(c, c.req.param("id")!);
    const user = await users.get(c.req.param("id")!);
    if (!user) throw new NotFoundError();
    return user;
  };
  return [
    {
      method: "GET",
      path: "/api/v1/users",
      summary: "Every user, in storage order (under ACCESS_POLICY=self, only the current user unless an admin)",
      responses: { 200: "The users" },
      answer: z.array(UserAnswer),
      handler: async (c) => {
        if (await actsOnAll(c)) return json(c, await view.list(await users.list()));
        const me = c.get("user");
        return json(c, me ? [await view.one(me)] : []);
      },
    },
    {
      method: "POST",
      path: "/api/v1/users",
      // SIGNUP=open: anyone may sign up, so the route skips authentication.
      public: o.signup === "open",
      summary: "Sign up: create a user (who may depends on SIGNUP)",
      body: NewUserBody,
      responses: {
        201: "The new user (while EMAIL_VERIFICATION is on, unverified, and a verification link is emailed)",
        400: "Wrong format, email missing, password missing, or Can't create User: <reason>",
        403: "Sign-up is closed (SIGNUP=closed: only the CLI creates users)",
        413: "Body too large",
        429: "SIGNUP=open: too many accounts created from this address in the last hour (Retry-After)",
      },
      answer: UserAnswer,
      async handler(c) {
        if (o.signup === "closed") {
          audit(c, "signup_refused", { reason: "SIGNUP=closed" });
          throw new HttpError(403, "Sign-up is closed");
        }
        const body = parseBody(NewUserBody, await readJsonObject(c.req.raw, maxBodyBytes), "create");
        const client = o.clientOf(c);
        // Counted before the account is made (so a parallel burst is limited too), taken back if it is not.
        const wait = o.signup === "open" ? await o.signupLimit.take(client) : 0;
        if (wait > 0) {
          audit(c, "signup_refused", { reason: "too many sign-ups from this address" });
          throw new HttpError(429, `Too many sign-ups from this address; retry in ${wait} s`, { "Retry-After": String(wait) });
        }
        let user: UserRecord;
        try {
          user = await users.create({
            email: body.email,
            password: body.password,
            first_name: body.first_name ?? null,
            last_name: body.last_name ?? null,
          });
        } catch (e) {
          if (o.signup === "open") await o.signupLimit.refund(client);
          throw e;
        }
        await o.startVerification?.(user);
        audit(c, "signup", { user_id: user.id });
        return json(c, await view.one(user), 201);
      },
    },
    // Before /users/:id: "me" is not an id, and it is only read.
    {
      method: "GET",
      path: "/api/v1/users/me",
      summary: "The authenticated user",
      responses: { 200: "The user", 404: "No authenticated user (no auth type)" },
      answer: UserAnswer,
      async handler(c) {
        const me = c.get("user");
        if (!me) throw new NotFoundError();
        return json(c, await view.one(me));
      },
    },
    {
      method: "GET",
      path: "/api/v1/users/:id",
      summary: "One user",
      responses: { 200: "The user", 403: "Another user, under ACCESS_POLICY=self", 404: "No such user" },
      answer: UserAnswer,
      async handler(c) {
        return json(c, await view.one(await userAt(c)));
      },
    },
    {
      method: "PUT",
      path: "/api/v1/users/:id",
      summary: "Change a user's names",
      body: UserPatchBody,
      responses: {
        200: "The updated user",
        400: "Wrong format or Can't update User: <reason>",
        403: "Another user, under ACCESS_POLICY=self",
        404: "No such user (checked before the body)",
        413: "Body too large",
      },
      answer: UserAnswer,
      async handler(c) {
        // The id is checked before the body, as in the original.
        const user = await userAt(c);
        const body = parseBody(UserPatchBody, await readJsonObject(c.req.raw, maxBodyBytes), "update");
        const patch: { first_name?: string; last_name?: string } = {};
        if (typeof body.first_name === "string") patch.first_name = body.first_name;
        if (typeof body.last_name === "string") patch.last_name = body.last_name;
        return json(c, await view.one(await users.update(user, patch)));
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/users/:id",
      summary: "Delete a user and end its sessions",
      responses: { 200: "{}", 403: "Another user, under ACCESS_POLICY=self", 404: "No such user" },
      answer: EmptyAnswer,
      async handler(c) {
        await mayReach(c, c.req.param("id")!);
        if (!(await users.delete(c.req.param("id")!))) throw new NotFoundError();
        audit(c, "user_deleted", { user_id: c.get("user")?.id ?? null, target: c.req.param("id")! });
        return json(c, {});
      },
    },
  ];
}
