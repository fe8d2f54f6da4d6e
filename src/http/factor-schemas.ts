import { z } from "zod";

/** The bodies and answers of the second-factor routes (see factor-routes.ts), for the handlers and the OpenAPI document. */

export const TotpConfirmBody = z.object({
  code: z.string().min(1).meta({ description: "the 6-digit code the authenticator app shows now", example: "123456" }),
}).meta({ id: "TotpConfirm" });

export const TotpDisableBody = z.object({
  current_password: z.string().min(1).meta({ description: "the password in use now" }),
}).meta({ id: "TotpDisable" });

export const TotpEnrolmentAnswer = z.object({
  secret: z.string().meta({ description: "base32, for typing into an app by hand", example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" }),
  otpauth_url: z.string().meta({ description: "the URL an authenticator app scans as a QR code" }),
}).meta({ id: "TotpEnrolment" });

export const RecoveryCodesAnswer = z.object({
  recovery_codes: z.array(z.string().meta({ example: "k7m2p-x9qrt" })).meta({
    description: "10 single-use codes, shown this once: each replaces a TOTP code at one login",
  }),
}).meta({ id: "RecoveryCodes" });

export const FactorsAnswer = z.object({
  totp: z.boolean().meta({ description: "whether a confirmed TOTP is required at login" }),
  recovery_codes_left: z.int().min(0),
  passkeys: z.int().min(0),
}).meta({ id: "Factors" });
