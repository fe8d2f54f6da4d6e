import { z } from "zod";
import type { UsersRepo } from "../repos/users.ts";
import { HttpError } from "./errors.ts";
import type { Route } from "./routes.ts";
import { json } from "./respond.ts";
import { StatsAnswer, StatusAnswer } from "./schemas.ts";

/** How long the storage has to answer the health check's read. */
export const HEALTH_DEADLINE_MS = 1000;

const HealthAnswer = z.object({ status: z.literal("OK"), storage: z.literal("ok") }).meta({ id: "Health" });
const UnhealthyAnswer = z.object({ status: z.literal("unavailable"), storage: z.enum(["timeout", "unavailable"]) }).meta({
  id: "Unhealthy",
});

/**
 * Reads once from the storage with a deadline; concurrent checks share the
 * read in flight, so a load balancer polling a hung database adds no
 * queries. The reason is a fixed word: a driver's message may name a host.
 */
export function createStorageCheck(
  read: () => Promise<unknown>,
  deadlineMs = HEALTH_DEADLINE_MS,
): () => Promise<"ok" | "timeout" | "unavailable"> {
  let inFlight: Promise<"ok" | "unavailable"> | null = null;
  return async () => {
    inFlight ??= read().then(() => "ok" as const, () => "unavailable" as const).finally(() => (inFlight = null));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"timeout">((res) => (timer = setTimeout(() => res("timeout"), deadlineMs)));
    try {
      return await Promise.race([inFlight, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The routes about the service itself: status (liveness: never touches the
 * storage), health (readiness: the storage answers), counts, and the
 * original's two error demos. `readStorage` is one cheap read.
 */
export function serviceRoutes(users: UsersRepo, unauthorized: () => HttpError, readStorage?: () => Promise<unknown>): Route[] {
  const storageCheck = createStorageCheck(readStorage ?? (() => users.count()));
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
      path: "/api/v1/health",
      public: true,
      summary: "Whether the storage answers a read within 1 s",
      responses: { 200: '{"status": "OK", "storage": "ok"}', 503: '{"status": "unavailable", "storage": "timeout" or "unavailable"}' },
      answer: HealthAnswer,
      answers: { 503: UnhealthyAnswer },
      handler: async (c) => {
        const storage = await storageCheck();
        return storage === "ok" ? json(c, { status: "OK", storage }) : json(c, { status: "unavailable", storage }, 503);
      },
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
