import type { Context } from "hono";
import { z } from "zod";
import type { PasskeyChallenges } from "../auth/passkey-challenges.ts";
import { challengeOf, creationOptions, verifyCreation } from "../auth/passkeys.ts";
import type { RelyingParty } from "../auth/relying-party.ts";
import { emptyAccount, type PasskeyRecord } from "../domain/accounts.ts";
import { NotFoundError } from "../domain/errors.ts";
import { formatTimestamp, type UserRecord } from "../domain/records.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { readJsonObject } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import { CreationOptionsAnswer, PasskeyAddBody, PasskeyAnswer } from "./passkey-schemas.ts";
import { json } from "./respond.ts";
import type { Route } from "./routes.ts";
import { EmptyAnswer } from "./schemas.ts";
import type { SessionRoutesOptions } from "./session-routes.ts";

/** What the passkey routes need beyond the session routes' options. */
export type PasskeyRoutesOptions = SessionRoutesOptions & {
  /** Account records (the `passkeys` field), changed through `updateAccount`. */
  driver: StorageDriver;
  challenges: PasskeyChallenges;
  /** The relying party of a request (see src/auth/relying-party.ts). */
  relyingParty: (req: Request) => RelyingParty;
  /** The name authenticators show for this service. */
  rpName: string;
};

/** Passkeys one user may register: each is a record in the account, and the options list them all. */
export const MAX_PASSKEYS = 20;

/** A passkey as its owner sees it. */
const view = (p: PasskeyRecord) => ({ id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at });

/** The body as `schema` wants it, or a 400 naming the first field that is not right. */
export async function passkeyBody<T extends z.ZodType>(o: PasskeyRoutesOptions, c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await readJsonObject(c.req.raw, o.maxBodyBytes));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length ? issue.path.join(".") : "body";
  throw new HttpError(400, issue.code === "too_big" ? `${field} is too long (at most ${issue.maximum})` : `${field} missing or malformed`);
}

/** Issues a challenge for `purpose`, or 429 when the client asked for too many. */
export async function issued<T extends { challenge: string }>(
  o: PasskeyRoutesOptions,
  c: Context<AppEnv>,
  options: T,
  purpose: "register" | "login",
  userId: string | null,
): Promise<T> {
  const wait = await o.challenges.issue(o.clientOf(c), options.challenge, purpose, userId);
  if (wait > 0) throw new HttpError(429, `Too many passkey requests; retry in ${wait} s`, { "Retry-After": String(wait) });
  return options;
}

/** Registering, listing and removing the current user's passkeys (logging in with one: passkey-login.ts). */
export function passkeyRoutes(o: PasskeyRoutesOptions): Route[] {
  /** The signed-in user; without an auth type nobody is "me" (404, as /users/me). */
  const me = (c: Context<AppEnv>): UserRecord => {
    const user = c.get("user");
    if (!user) throw new NotFoundError();
    return user;
  };

  async function addOptions(c: Context<AppEnv>) {
    const user = me(c);
    const account = (await o.users.account(user.id)) ?? emptyAccount(user.id);
    const options = await creationOptions(o.relyingParty(c.req.raw), o.rpName, user, account.passkeys);
    return json(c, await issued(o, c, options, "register", user.id));
  }

  async function add(c: Context<AppEnv>) {
    const user = me(c);
    const body = await passkeyBody(o, c, PasskeyAddBody);
    const refuse = (status: number, reason: string, message: string): never => {
      o.audit(c, "passkey_failed", { user_id: user.id, reason: `registration: ${reason}` });
      throw new HttpError(status, message);
    };
    const challenge = challengeOf(body.response);
    // Single use: taken out of the store whatever happens next.
    const taken = challenge === null ? null : await o.challenges.take(challenge, "register");
    if (!taken || taken.user_id !== user.id) {
      refuse(400, "unknown, used or expired challenge", "challenge expired or already used: ask for new options");
    }
    const verified = await verifyCreation(o.relyingParty(c.req.raw), challenge!, body.response);
    if (!verified.ok) return refuse(400, verified.reason, `passkey not accepted: ${verified.reason}`);
    const record: PasskeyRecord = {
      ...verified.passkey,
      name: body.name?.trim() || "Passkey",
      created_at: formatTimestamp(o.now()),
      last_used_at: null,
    };
    const outcome = await o.driver.updateAccount(user.id, (current) => {
      if (current.passkeys.some((p) => p.id === record.id)) return { account: null, result: "already registered" as const };
      if (current.passkeys.length >= MAX_PASSKEYS) return { account: null, result: "too many" as const };
      return { account: { ...current, passkeys: [...current.passkeys, record] }, result: "added" as const };
    });
    if (outcome === "already registered") refuse(400, outcome, "passkey not accepted: this passkey is already registered");
    if (outcome === "too many") refuse(400, outcome, `passkey not accepted: at most ${MAX_PASSKEYS} passkeys per user`);
    o.audit(c, "passkey_added", { user_id: user.id, target: record.id });
    return json(c, view(record), 201);
  }

  const mine = {
    404: "No authenticated user (no auth type)",
  };
  return [
    {
      method: "POST",
      path: "/api/v1/users/me/passkeys/options",
      summary: "Options for navigator.credentials.create(): register a passkey for the current user",
      responses: { 200: "The creation options; the challenge is good once, for 5 minutes", ...mine, 429: "Too many options asked for" },
      answer: CreationOptionsAnswer,
      handler: addOptions,
    },
    {
      method: "POST",
      path: "/api/v1/users/me/passkeys",
      summary: "Register a passkey: the browser's answer to the creation options",
      body: PasskeyAddBody,
      responses: {
        201: "The passkey",
        400: "Wrong format, a field missing, a used or expired challenge, or a passkey not accepted (with the reason)",
        ...mine,
        413: "Body too large",
      },
      answer: PasskeyAnswer,
      handler: add,
    },
    {
      method: "GET",
      path: "/api/v1/users/me/passkeys",
      summary: "The current user's passkeys, oldest first",
      responses: { 200: "The passkeys", ...mine },
      answer: z.array(PasskeyAnswer),
      handler: async (c) => json(c, ((await o.users.account(me(c).id))?.passkeys ?? []).map(view)),
    },
    {
      method: "DELETE",
      path: "/api/v1/users/me/passkeys/:id",
      summary: "Remove one of the current user's passkeys",
      responses: { 200: "{}", 404: "No such passkey of this user (or no authenticated user)" },
      answer: EmptyAnswer,
      async handler(c) {
        const user = me(c);
        const id = c.req.param("id")!;
        const removed = await o.driver.updateAccount(user.id, (current) => {
          const kept = current.passkeys.filter((p) => p.id !== id);
          return kept.length === current.passkeys.length
            ? { account: null, result: false }
            : { account: { ...current, passkeys: kept }, result: true };
        });
        // Another user's passkey is as unknown as one that never existed.
        if (!removed) throw new NotFoundError();
        o.audit(c, "passkey_removed", { user_id: user.id, target: id });
        return json(c, {});
      },
    },
  ];
}
