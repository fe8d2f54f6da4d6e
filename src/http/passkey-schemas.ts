import { z } from "zod";

/**
 * The bodies and answers of the passkey routes, for their handlers and the
 * OpenAPI document. The WebAuthn objects themselves are the browser's
 * (`PublicKeyCredential.toJSON()`) and the library's option objects: the
 * document names their well-known fields and lets the rest through.
 */

const timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/).meta({ description: "UTC, without a zone" });

/** Longest passkey name kept. */
export const PASSKEY_NAME_MAX = 64;

const credential = z.looseObject({
  id: z.string().describe("the credential id, base64url"),
  rawId: z.string(),
  type: z.literal("public-key"),
  response: z.looseObject({ clientDataJSON: z.string() }),
}).meta({ description: "What `PublicKeyCredential.toJSON()` gives in the browser (base64url fields)" });

export const PasskeyAddBody = z.object({
  response: credential.describe("the answer of navigator.credentials.create() to the options"),
  name: z.string().max(PASSKEY_NAME_MAX).optional().describe('what the user calls it; default "Passkey"'),
}).meta({ id: "PasskeyAdd" });

export const PasskeyLoginBody = z.object({
  response: credential.describe("the answer of navigator.credentials.get() to the options"),
}).meta({ id: "PasskeyLogin" });

/** A passkey as its owner sees it: never its public key or counter. */
export const PasskeyAnswer = z.object({
  id: z.string().describe("the credential id, base64url"),
  name: z.string(),
  created_at: timestamp,
  last_used_at: timestamp.nullable().describe("the last login with it; null: never"),
}).meta({ id: "Passkey" });

export const CreationOptionsAnswer = z.looseObject({
  challenge: z.string(),
  rp: z.object({ id: z.string(), name: z.string() }),
  user: z.looseObject({ id: z.string(), name: z.string() }),
  pubKeyCredParams: z.array(z.looseObject({ type: z.string(), alg: z.number() })),
  excludeCredentials: z.array(z.looseObject({ id: z.string() })).optional(),
}).meta({ id: "PasskeyCreationOptions", description: "PublicKeyCredentialCreationOptionsJSON (WebAuthn Level 3)" });

export const RequestOptionsAnswer = z.looseObject({
  challenge: z.string(),
  rpId: z.string(),
  userVerification: z.string().optional(),
}).meta({ id: "PasskeyRequestOptions", description: "PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3); no allowCredentials" });
