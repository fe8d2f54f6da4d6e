import { Hono } from "hono";
import { HttpError } from "../domain/errors.ts";
import { toUserJson } from "../domain/types.ts";
import type { UsersRepo, UserPatch } from "../repos/users.ts";
import { readJsonObject } from "./body.ts";
import type { AppEnv } from "./env.ts";
import { json } from "./respond.ts";

export type UserRoutesOptions = { users: UsersRepo; maxBodyBytes: number };

const notFound = () => new HttpError(404, "Not found");

/** A name field of a body: absent or null means "not given"; anything else must be a string. */
function nameField(body: Record<string, unknown>, key: "first_name" | "last_name", verb: "create" | "update"): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new HttpError(400, `Can't ${verb} User: ${key} must be a string`);
  return v;
}

/** `/users` routes, mounted under `/api/v1`. */
export function userRoutes({ users, maxBodyBytes }: UserRoutesOptions) {
  const app = new Hono<AppEnv>({ strict: false });

  app.get("/users", async (c) => json(c, (await users.list()).map(toUserJson)));

  app.get("/users/:id", async (c) => {
    const id = c.req.param("id");
    if (id === "me") {
      const me = c.get("user");
      if (!me) throw notFound();
      return json(c, toUserJson(me));
    }
    const user = await users.get(id);
    if (!user) throw notFound();
    return json(c, toUserJson(user));
  });

  app.post("/users", async (c) => {
    const body = await readJsonObject(c.req.raw, maxBodyBytes);
    // The original's order: the email first, then the password. A value that
    // is not a non-empty string counts as missing.
    if (typeof body.email !== "string" || body.email === "") throw new HttpError(400, "email missing");
    if (typeof body.password !== "string" || body.password === "") throw new HttpError(400, "password missing");
    const user = await users.create({
      email: body.email,
      password: body.password,
      first_name: nameField(body, "first_name", "create") ?? null,
      last_name: nameField(body, "last_name", "create") ?? null,
    });
    return json(c, toUserJson(user), 201);
  });

  app.put("/users/:id", async (c) => {
    // The id is checked before the body, as in the original.
    const user = await users.get(c.req.param("id"));
    if (!user) throw notFound();
    const body = await readJsonObject(c.req.raw, maxBodyBytes);
    const patch: UserPatch = {};
    const first = nameField(body, "first_name", "update");
    const last = nameField(body, "last_name", "update");
    if (first !== undefined) patch.first_name = first;
    if (last !== undefined) patch.last_name = last;
    return json(c, toUserJson(await users.update(user, patch)));
  });

  app.delete("/users/:id", async (c) => {
    if (!(await users.delete(c.req.param("id")))) throw notFound();
    return json(c, {});
  });

  return app;
}
