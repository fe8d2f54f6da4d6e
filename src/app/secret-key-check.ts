import { createSecretBox } from "../auth/secret-box.ts";
import { StartupError } from "../domain/errors.ts";
import type { StorageDriver } from "../storage/driver.ts";

/**
 * Refuses to start when users have a TOTP factor (pending or on) and
 * SECRET_KEY is missing or is not the key their secrets were sealed under:
 * served anyway, those users could not log in, and a second factor set up
 * under a new key would mix keys in one store. One sealed secret opening
 * proves the key (AES-GCM authenticates), so only the first is tried.
 *
 * Cost: one `listAccounts` at startup. Account records exist only for users
 * with state of ours (an admin grant, a pending token, a factor), not for
 * every user: on PostgreSQL one sequential read of the `accounts` table,
 * a few MB for a million such users; nothing on the request path.
 */
export async function checkSecretKey(driver: StorageDriver, secretKey: string | null): Promise<void> {
  const enrolled = (await driver.listAccounts()).filter((a) => a.totp !== null);
  if (enrolled.length === 0) return;
  const users = enrolled.length === 1 ? "1 user has" : `${enrolled.length} users have`;
  if (secretKey === null) {
    throw new StartupError(
      `SECRET_KEY is not set, but ${users} a TOTP second factor sealed under one: set the SECRET_KEY they were enrolled with`,
    );
  }
  const box = await createSecretBox(secretKey, "totp");
  if ((await box.open(enrolled[0].totp!.secret)) === null) {
    throw new StartupError(
      `SECRET_KEY is not the key the TOTP secrets were sealed under (${users} one): set the SECRET_KEY they were enrolled with`,
    );
  }
}
