import { z } from "zod";
import { LIMITS } from "../repos/users.ts";
import { HttpError } from "./errors.ts";

/**
 * The request bodies of the API as zod schemas: handlers validate with
 * them, and the OpenAPI document is generated from them. They check shape
 * and types; the rules about values (lengths, the email's form, the
 * password policy) are the users repo's, shared with the CLI. The limits
 * appear here as metadata for the document.
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
}).meta({ description: "Unknown fields, id, timestamps and password hashes sent by the client are ignored." });

export const UserPatchBody = z.object({
  first_name: name.describe('applied when present and not null; "" sets it'),
  last_name: name.describe('applied when present and not null; "" sets it'),
});

export const LoginBody = z.object({
  email: z.string().min(1).meta({ example: "bob@hbtn.io" }),
  password: z.string().min(1).meta({ example: "H0lbertonSchool98!" }),
});

export const PasswordChangeBody = z.object({
  current_password: z.string().min(1).meta({ description: "the password in use now" }),
  new_password: z.string().min(1).meta({ maxLength: LIMITS.password, description: "checked against the sign-up rules" }),
});

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
  for (const required of ["email", "password", "current_password", "new_password"]) {
    if (fields.includes(required)) throw new HttpError(400, `${required} missing`);
  }
  throw new HttpError(400, `Can't ${verb} User: ${fields[0]} must be a string`);
}
