import type { MailMessage } from "../lib/outbox.ts";

/**
 * The emails the service sends, in the user's terms: a plain text part and
 * a simple HTML part with the same words (every value escaped). A link
 * carries its token in the URL fragment, which browsers never send to a
 * server nor put in a Referer. No email ever holds a password.
 */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** "1 hour", "24 hours", "30 minutes": how long a link works. */
export function duration(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.max(1, Math.round(seconds / 60)), "minute"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

type Paragraph = string | { link: string };

/** One message from its paragraphs; a `{ link }` paragraph is a clickable link in HTML and the bare URL in text. */
function compose(to: string, subject: string, tag: string, paragraphs: Paragraph[]): MailMessage {
  const text = paragraphs.map((p) => (typeof p === "string" ? p : p.link)).join("\n\n") + "\n";
  const html = "<!doctype html><html><body>" +
    paragraphs.map((p) =>
      typeof p === "string" ? `<p>${escapeHtml(p)}</p>` : `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.link)}</a></p>`
    ).join("") + "</body></html>";
  return { to, subject, text, html, tag };
}

const IGNORE = "If you did not ask for this, you can ignore this email: nothing changes.";

/** The reset link (`<PUBLIC_URL>/#reset=<token>`). */
export function resetMail(to: string, userId: string, link: string, ttlSeconds: number): MailMessage {
  return compose(to, "Reset your password", userId, [
    "Someone (hopefully you) asked to reset the password of your account.",
    "To choose a new password, open this link:",
    { link },
    `The link works once, for ${duration(ttlSeconds)}.`,
    IGNORE,
  ]);
}

/** The verification link (`<PUBLIC_URL>/#verify=<token>`) of a new account. */
export function verifyMail(to: string, userId: string, link: string, ttlSeconds: number): MailMessage {
  return compose(to, "Verify your email address", userId, [
    "Please confirm that this is your email address by opening this link:",
    { link },
    `The link works once, for ${duration(ttlSeconds)}.`,
    IGNORE,
  ]);
}

/** The confirmation link sent to the new address of an email change. */
export function emailChangeMail(to: string, userId: string, link: string, ttlSeconds: number): MailMessage {
  return compose(to, "Confirm your new email address", userId, [
    "You asked to use this address for your account. To confirm, open this link:",
    { link },
    `The link works once, for ${duration(ttlSeconds)}. Until it is used, your account keeps its current address.`,
    IGNORE,
  ]);
}

/** The notice to the current address that a change to another one was asked for. */
export function emailChangeNotice(to: string, userId: string, newAddress: string): MailMessage {
  return compose(to, "Your email address is about to change", userId, [
    `Someone logged in to your account asked to change its email address to ${newAddress}.`,
    "It changes only once a link sent to that address is opened.",
    "If this was not you, change your password now: someone else knows it.",
  ]);
}

/** The notice to an address another account already uses: no link, nothing changes. */
export function addressTakenNotice(to: string, userId: string): MailMessage {
  return compose(to, "Someone tried to use your email address", userId, [
    "Someone asked to move another account to this email address. It already belongs to your account, so nothing was changed.",
    "If it was you, log in to your account with this address instead.",
  ]);
}

/** The notice that the password was changed through a reset link. */
export function passwordChangedMail(to: string, userId: string): MailMessage {
  return compose(to, "Your password was changed", userId, [
    "The password of your account was just reset with a link sent to this address. Every session of the account was ended.",
    "If this was not you, reset your password again at once and tell whoever runs the service.",
  ]);
}
