import { z } from "zod";
import { AUTH_TYPES } from "../domain/auth-mode.ts";
import { LIMITS } from "../repos/users.ts";
import { HttpError } from "./errors.ts";

/**
 * The request bodies of the API as zod schemas: handlers validate with
 * them, and the OpenAPI document is generated from them. They check shape
 * and types; the rules about values (lengths, the email's form, the
 * password policy) are the users repo's, shared with the CLI. The limits
 * appear here as metadata for the document. The answers are described the
 * same way, for the document and for the tests that check real answers
 * against it. An `id` names a schema in the document's components.
 */

const name = z.string().nullable().optional().meta({ maxLength: LIMITS.name });

export const NewUserBody = z.object({
  email: z.string().min(1).meta({
    maxLength: LIMITS.email,
    description: "compared case-insensitively with existing users",
    example: "bob@hbtn.io",
  }),
  password: z.string().min(1).meta({ maxLength: LIMITS.password, example: "H0lbertonSchool98!" }),
  first_name: name,
  last_name: name,
}).meta({ id: "NewUser", description: "Unknown fields, id, timestamps and password hashes sent by the client are ignored." });

export const UserPatchBody = z.object({
  first_name: name.describe('applied when present and not null; "" sets it'),
  last_name: name.describe('applied when present and not null; "" sets it'),
}).meta({ id: "UserPatch" });

export const LoginBody = z.object({
  email: z.string().min(1).meta({ example: "bob@hbtn.io" }),
  password: z.string().min(1).meta({ example: "H0lbertonSchool98!" }),
  code: z.string().optional().meta({ description: "for a user with TOTP: the app's 6-digit code, or a recovery code" }),
}).meta({ id: "Login", description: "As a JSON object or as form fields." });

export const PasswordChangeBody = z.object({
  current_password: z.string().min(1).meta({ description: "the password in use now" }),
  new_password: z.string().min(1).meta({ maxLength: LIMITS.password, description: "checked against the sign-up rules" }),
}).meta({ id: "PasswordChange" });

const timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/).meta({
  description: "UTC, without a zone",
  example: "2024-03-01T10:00:00",
});

/** Every error: `{"error": "<message>"}`. */
export const ErrorAnswer = z.object({ error: z.string().meta({ example: "Not found" }) }).meta({ id: "Error" });

/** A user as the API shows it (src/domain/records.ts, toUserJson): never its password hash. */
export const UserAnswer = z.object({
  created_at: timestamp,
  email: z.string().nullable().meta({ example: "bob@hbtn.io" }),
  first_name: z.string().nullable(),
  id: z.string().meta({ example: "5c8d5c0c-1b5a-4b7e-9a45-1f1a0f6c8a11" }),
  last_name: z.string().nullable(),
  updated_at: timestamp,
}).meta({ id: "User", description: "Keys always in this order; names null when unset." });

/** One of the current user's sessions: named by its record id, never by its token. */
export const SessionAnswer = z.object({
  id: z.string(),
  created_at: timestamp,
  last_seen_at: timestamp.describe("when it was last used, to the minute"),
  expires_at: timestamp.nullable().describe("when it ends at the latest if unused; null: no limit"),
  ip: z.string().nullable().describe("the client address of the login"),
  user_agent: z.string().nullable().describe("the login's User-Agent"),
  current: z.boolean().describe("the session this request used"),
}).meta({ id: "Session" });

/** `{}`: done, nothing to tell. */
export const EmptyAnswer = z.object({}).meta({ id: "Empty" });
/** GET /status. */
export const StatusAnswer = z.object({ status: z.literal("OK") }).meta({ id: "Status" });
/** GET /stats. */
export const StatsAnswer = z.object({ users: z.int().min(0) }).meta({ id: "Stats" });
/** DELETE /auth_session/sessions: how many sessions ended. */
export const EndedAnswer = z.object({ ended: z.int().min(0) }).meta({ id: "Ended" });
/** GET /auth_type: how this server authenticates, for clients such as the sign-in page. */
export const AuthTypeAnswer = z.object({
  auth_type: z.enum(AUTH_TYPES).nullable().describe("AUTH_TYPE; null when unset (no authentication)"),
  sessions: z.boolean().describe("whether logging in starts a session"),
}).meta({ id: "AuthType" });

/**
 * Validates `body` against `schema`, answering the original's messages in
 * the original's order: a missing or non-string `email` first ("email
 * missing"), then `password` ("password missing"), then names of the wrong
 * type (`Can't <verb> User: first_name must be a string`).
 */
export function parseBody<T extends z.ZodType>(schema: T, body: Record<string, unknown>, verb: "create" | "update"): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => String(i.path[0]));
  for (const required of ["email", "password", "current_password", "new_password", "code"]) {
    if (fields.includes(required)) throw new HttpError(400, `${required} missing`);
  }
  throw new HttpError(400, `Can't ${verb} User: ${fields[0]} must be a string`);
}
