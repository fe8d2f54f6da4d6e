import { hasLoneSurrogate } from "./passwords.ts";

/**
 * The rules about a new account's email beyond its shape: nothing that makes
 * two addresses look alike on screen while they are different strings. Each
 * of these let a second account pass for an existing one (`admin@hbtn.io `
 * beside `admin@hbtn.io`, a Cyrillic `е` inside a Latin name), the kind of
 * twin an administrator, a log reader or a victim cannot tell apart.
 * Only new emails obey them: the original's data files load as they are.
 */

/** Zero-width characters (U+200B-U+200D, U+2060, U+FEFF): invisible, so two different emails look identical. */
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff]/;
/** Bidirectional marks, embeddings, overrides and isolates: they reorder what is shown. */
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Any other format character (soft hyphen, tags...): invisible too. */
const FORMAT = /\p{Cf}/u;
const LATIN = /\p{Script=Latin}/u;
const LOOK_ALIKE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;

/**
 * What is wrong with `email` as a new account's email, or null. Checks
 * only what makes look-alikes (the repo checks length and shape):
 * whitespace at either end, invisible and bidirectional characters, and a
 * part (the name, or a label of the domain) mixing Latin with Cyrillic or
 * Greek letters. A part wholly in one script is fine (`иван@hbtn.io`).
 */
export function emailProblem(email: string): string | null {
  if (hasLoneSurrogate(email)) return "email is not valid Unicode (a lone surrogate)";
  if (/^\s|\s$/.test(email)) return "email has leading or trailing whitespace";
  if (INVISIBLE.test(email)) return "email contains an invisible (zero-width) character";
  if (BIDI.test(email)) return "email contains a bidirectional control character";
  if (FORMAT.test(email)) return "email contains an invisible formatting character";
  for (const part of email.split(/[@.]/)) {
    if (LATIN.test(part) && LOOK_ALIKE_SCRIPT.test(part)) {
      return "email mixes Latin with Cyrillic or Greek letters in one part (a look-alike of another address)";
    }
  }
  return null;
}

/**
 * The one spelling an email is stored and looked up in: Unicode NFC, so
 * that `josé` typed with a combining accent (NFD) and with `é` are one
 * address. Case stays as typed; the stores compare it case-insensitively.
 */
export function normalizeEmail(email: string): string {
  return email.normalize("NFC");
}

/** Whether `text` can reach storage at all: no NUL, no lone surrogate (PostgreSQL refuses both in text). */
export function isStorableText(text: string): boolean {
  return !text.includes("\0") && !hasLoneSurrogate(text);
}
