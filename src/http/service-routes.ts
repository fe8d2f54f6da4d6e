import type { UsersRepo } from "../repos/users.ts";
import { HttpError } from "./errors.ts";
import type { Route } from "./routes.ts";
import { json } from "./respond.ts";
import { StatsAnswer, StatusAnswer } from "./schemas.ts";

/** The routes about the service itself: status, counts, and the original's two error demos. */
export function serviceRoutes(users: UsersRepo, unauthorized: () => HttpError): Route[] {
  return [
    {
      method: "GET",
      path: "/api/v1/status",
      public: true,
      summary: "Whether the service is up",
      responses: { 200: '{"status": "OK"}' },
      answer: StatusAnswer,
      handler: (c) => json(c, { status: "OK" }),
    },
    {
      method: "GET",
      path: "/api/v1/stats",
      summary: "How many users there are",
      responses: { 200: '{"users": <count>}' },
      answer: StatsAnswer,
      handler: async (c) => json(c, { users: await users.count() }),
    },
    {
      method: "GET",
      path: "/api/v1/unauthorized",
      public: true,
      summary: "Always 401 (the original's demo of the error)",
      responses: { 401: "Unauthorized" },
      handler: () => {
        throw unauthorized();
      },
    },
    {
      method: "GET",
      path: "/api/v1/forbidden",
      public: true,
      summary: "Always 403 (the original's demo of the error)",
      responses: { 403: "Forbidden" },
      handler: () => {
        throw new HttpError(403, "Forbidden");
      },
    },
  ];
}
