import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { decodeClientDataJSON, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { PasskeyRecord } from "../domain/accounts.ts";
import type { RelyingParty } from "./relying-party.ts";

/**
 * The WebAuthn ceremonies, through @simplewebauthn/server (the maintained
 * library does the CBOR, COSE and signature work; nothing of it is ours).
 * What this module decides:
 *
 * - Passkeys are discoverable credentials (resident key required): a login
 *   needs no email, the authenticator offers the accounts it holds.
 * - The user handle is the user id's UTF-8 bytes, so that an assertion
 *   names its user without any lookup by credential id.
 * - User verification is "preferred", not required: security keys without a
 *   PIN still work as a single factor. A passkey login counts as both factors
 *   (for a user with TOTP) only when the authenticator verified the user,
 *   which the caller checks in the answer's `userVerified`.
 * - Attestation "none": the service trusts the user's choice of
 *   authenticator, and asks for nothing that identifies its model.
 */

/** What a failed verification says, for the log (never for the client of a login). */
export type Refusal = { ok: false; reason: string };

/** Timeout the browser gets for its prompt; the challenge lives as long on our side. */
const TIMEOUT_MS = 5 * 60_000;

/** The challenge of an answer (from its client data), or null when the answer has none. */
export function challengeOf(response: unknown): string | null {
  try {
    const data = (response as { response?: { clientDataJSON?: unknown } })?.response?.clientDataJSON;
    if (typeof data !== "string") return null;
    const challenge = decodeClientDataJSON(data).challenge;
    return typeof challenge === "string" ? challenge : null;
  } catch {
    // Not base64url, not JSON: an answer no browser made.
    return null;
  }
}

/** The user an assertion names (its user handle, the user id's bytes), or null. */
export function userOfAssertion(response: unknown): string | null {
  const handle = (response as { response?: { userHandle?: unknown } })?.response?.userHandle;
  if (typeof handle !== "string" || !isoBase64URL.isBase64URL(handle) || handle.length > 512) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(isoBase64URL.toBuffer(handle)) || null;
  } catch {
    return null;
  }
}

/** The options for `navigator.credentials.create()`: a new passkey of `user`, none of `existing` again. */
export function creationOptions(
  rp: RelyingParty,
  rpName: string,
  user: { id: string; email: string | null },
  existing: readonly PasskeyRecord[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName,
    rpID: rp.id,
    userName: user.email ?? user.id,
    userID: new TextEncoder().encode(user.id),
    timeout: TIMEOUT_MS,
    attestationType: "none",
    // The authenticator refuses to make a second credential for this account.
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "preferred" },
  });
}

/** The options for `navigator.credentials.get()`: any passkey of this relying party (no allowCredentials: discoverable). */
export function requestOptions(rp: RelyingParty): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({ rpID: rp.id, timeout: TIMEOUT_MS, userVerification: "preferred" });
}

/** The new passkey an attestation proves (without name and dates), or why not. */
export async function verifyCreation(
  rp: RelyingParty,
  challenge: string,
  response: unknown,
): Promise<{ ok: true; passkey: Pick<PasskeyRecord, "id" | "public_key" | "counter" | "transports"> } | Refusal> {
  try {
    const verified = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
    });
    if (!verified.verified) return { ok: false, reason: "attestation not verified" };
    const { credential } = verified.registrationInfo;
    return {
      ok: true,
      passkey: {
        id: credential.id,
        public_key: isoBase64URL.fromBuffer(credential.publicKey),
        counter: credential.counter,
        transports: [...(credential.transports ?? [])],
      },
    };
  } catch (e) {
    // The library throws for every malformed or mismatched answer: each one is a refusal, with its words for the log.
    return { ok: false, reason: (e as Error)?.message ?? String(e) };
  }
}

/** The signature counter and user verification of an assertion made with `passkey`, or why it is refused. */
export async function verifyAssertion(
  rp: RelyingParty,
  challenge: string,
  response: unknown,
  passkey: PasskeyRecord,
): Promise<{ ok: true; counter: number; userVerified: boolean } | Refusal> {
  try {
    const verified = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: isoBase64URL.toBuffer(passkey.public_key),
        // The library refuses a counter that does not move forward (a cloned authenticator), unless both are 0.
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: false,
    });
    if (!verified.verified) return { ok: false, reason: "signature not verified" };
    return { ok: true, counter: verified.authenticationInfo.newCounter, userVerified: verified.authenticationInfo.userVerified };
  } catch (e) {
    return { ok: false, reason: (e as Error)?.message ?? String(e) };
  }
}

type AuthenticatorTransportFuture = NonNullable<RegistrationResponseJSON["response"]["transports"]>[number];
