import { json } from "./respond.ts";
import type { Route } from "./routes.ts";

/** Where the sign-in page asks which self-service flows this server offers. */
export const PAGE_CONFIG_PATH = "/page/config";

/** What the sign-in page needs to know of the configuration: nothing secret, only what its links depend on. */
export type PageSettings = {
  /** SIGNUP: "open" shows "Create an account" to visitors; "closed" hides creating accounts altogether. */
  signup: "authenticated" | "open" | "closed";
  /** Whether email is configured (SMTP_URL set): "Forgot your password?" and changing one's address need it. */
  email: boolean;
  /** EMAIL_VERIFICATION: what the page says after a sign-up. */
  emailVerification: "off" | "optional" | "required";
};

/**
 * `GET /page/config`, for the sign-in page only: 200 `{"signup":
 * "open"|"authenticated"|"closed", "email": bool, "email_verification":
 * "off"|"optional"|"required"}`. A link the server would refuse (a sign-up
 * that is not open, a reset email that cannot be sent) is not shown at
 * all. Every visitor may learn this much: the page's links tell it anyway.
 * Outside `/api/v1`, like `/page/session`: not part of the API.
 *
 * @example pageConfigRoute({ signup: "open", email: true, emailVerification: "required" })
 */
export function pageConfigRoute(settings: PageSettings): Route {
  const answer = { signup: settings.signup, email: settings.email, email_verification: settings.emailVerification };
  return {
    method: "GET",
    path: PAGE_CONFIG_PATH,
    public: true,
    summary: "Which self-service flows the sign-in page offers: sign-up, password reset, email verification",
    media: "application/json",
    responses: { 200: '{"signup": "open"|"authenticated"|"closed", "email": bool, "email_verification": "off"|"optional"|"required"}' },
    handler: (c) => json(c, answer),
  };
}
