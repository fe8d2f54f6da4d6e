import type { Context } from "hono";
import { NotFoundError } from "../domain/errors.ts";
import { readJsonObject } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { clearedCookie } from "./cookies.ts";
import type { Route } from "./routes.ts";
import { json, jsonWithCookies } from "./respond.ts";
import { z } from "zod";
import { EmptyAnswer, EndedAnswer, parseBody, PasswordChangeBody, SessionAnswer } from "./schemas.ts";
import { checkCurrentPassword } from "./current-password.ts";
import { cookieOptionsOf, deviceCookie, noSessions, type SessionRoutesOptions } from "./session-routes.ts";

/**
 * What users of session libraries keep asking for: see and end their own
 * sessions ("log out everywhere"), and change their password (which ends
 * every other session). A user only ever sees and ends their own sessions,
 * named by record ids, never by tokens or their hashes.
 */
export function accountRoutes(o: SessionRoutesOptions): Route[] {
  /** The session manager and the request's own session, or the "no sessions" 400. */
  function sessionsOf(c: Context<AppEnv>) {
    if (!o.sessions) throw noSessions(o.auth);
    return { sessions: o.sessions, user: c.get("user")!, current: c.get("session") };
  }

  return [
    {
      method: "GET",
      path: "/api/v1/auth_session/sessions",
      summary: "The current user's live sessions, newest first",
      responses: { 200: "The sessions; `current` marks the one this request used", 400: "Sessions are not enabled" },
      answer: z.array(SessionAnswer),
      async handler(c) {
        const { sessions, user, current } = sessionsOf(c);
        const list = await sessions.list(user.id);
        return json(
          c,
          list.map(({ tokenHash, ...view }) => ({ ...view, current: tokenHash === current?.tokenHash })),
        );
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/auth_session/sessions",
      summary: "End every other session of the current user",
      responses: { 200: '{"ended": <count>}', 400: "Sessions are not enabled" },
      answer: EndedAnswer,
      async handler(c) {
        const { sessions, user, current } = sessionsOf(c);
        const ended = await sessions.endOthers(user.id, current?.tokenHash ?? null);
        o.audit(c, "session_ended", { user_id: user.id, count: ended, reason: "all others" });
        return json(c, { ended });
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/auth_session/sessions/:id",
      summary: "End one of the current user's sessions",
      responses: {
        200: "{}; the cookie is cleared when it was this request's session",
        400: "Sessions are not enabled",
        404: "No such session of this user",
      },
      answer: EmptyAnswer,
      async handler(c) {
        const { sessions, user, current } = sessionsOf(c);
        const id = c.req.param("id")!;
        // Another user's session is as unknown as one that never existed.
        if (!(await sessions.endById(user.id, id))) throw new NotFoundError();
        o.audit(c, "session_ended", { user_id: user.id, target: id });
        const headers: Record<string, string> = {};
        if (current?.sessionId === id) headers["Set-Cookie"] = clearedCookie(o.sessionName, cookieOptionsOf(o, c));
        return json(c, {}, 200, headers);
      },
    },
    {
      method: "PUT",
      path: "/api/v1/users/me/password",
      summary: "Change the current user's password; every other session ends",
      body: PasswordChangeBody,
      responses: {
        200: "{}",
        400: "Wrong format, a field missing, or Can't update User: <reason> (the sign-up rules)",
        401: "invalid email or password (the current password is wrong)",
        404: "No authenticated user (no auth type)",
        413: "Body too large",
        429: "Too many failed attempts (Retry-After)",
      },
      answer: EmptyAnswer,
      async handler(c) {
        const user = c.get("user");
        // Without an auth type nobody is "me".
        if (!user) throw new NotFoundError();
        const body = parseBody(PasswordChangeBody, await readJsonObject(c.req.raw, o.maxBodyBytes), "update");
        const checked = await checkCurrentPassword(o, c, user, body.current_password);
        const changed = await o.users.changePassword(checked, body.new_password);
        // The password may have leaked: whoever else holds a session of this account is out.
        await o.sessions?.endOthers(user.id, c.get("session")?.tokenHash ?? null);
        o.audit(c, "password_changed", { user_id: user.id, session: c.get("session")?.tokenHash });
        // Known devices were vouched for by the old password: this one is vouched for again.
        return jsonWithCookies(c, {}, [deviceCookie(o, c, changed)]);
      },
    },
  ];
}
