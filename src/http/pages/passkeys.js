// The sign-in page's passkeys: sign in with one, and, signed in, add, list
// and remove them. WebAuthn moves binary data (challenges, ids, keys) as
// ArrayBuffers; the API moves it as base64url text, in the JSON forms of
// WebAuthn Level 3 (PublicKeyCredential.parse*OptionsFromJSON, toJSON),
// which this script uses where the browser has them and rebuilds where it
// has not. Uses what sign-in.js shares in globalThis.signInPage.

(() => {
  const page = globalThis.signInPage;
  const $ = (id) => document.getElementById(id);
  // WebAuthn needs a secure context (https, or http://localhost) and a browser that has it.
  if (!page || !globalThis.PublicKeyCredential || !navigator.credentials) return;

  /** base64url text → ArrayBuffer. */
  function fromBase64Url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  }

  /** ArrayBuffer (or view) → base64url text, without padding. */
  function toBase64Url(buffer) {
    const bytes = buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  const withIds = (list) => (list ?? []).map((c) => ({ ...c, id: fromBase64Url(c.id) }));

  /** The options of navigator.credentials.create() from the API's JSON. */
  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: fromBase64Url(json.challenge),
      user: { ...json.user, id: fromBase64Url(json.user.id) },
      excludeCredentials: withIds(json.excludeCredentials),
    };
  }

  /** The options of navigator.credentials.get() from the API's JSON. */
  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return { ...json, challenge: fromBase64Url(json.challenge), allowCredentials: withIds(json.allowCredentials) };
  }

  /** A credential as the API takes it: PublicKeyCredential.toJSON(), or the same built by hand. */
  function credentialJson(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    const response = { clientDataJSON: toBase64Url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64Url(r.attestationObject);
      response.transports = r.getTransports?.() ?? [];
    } else {
      response.authenticatorData = toBase64Url(r.authenticatorData);
      response.signature = toBase64Url(r.signature);
      if (r.userHandle) response.userHandle = toBase64Url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  /** The browser's refusal in words a person can act on (cancelled, timed out, no passkey here). */
  function browserProblem(error) {
    if (error instanceof DOMException && error.name === "NotAllowedError") {
      return new Error("cancelled, timed out, or no passkey for this site on this device");
    }
    if (error instanceof DOMException && error.name === "InvalidStateError") {
      return new Error("this device already holds a passkey for your account");
    }
    return error;
  }

  async function signInWithPasskey() {
    const button = $("passkey-login-button");
    button.disabled = true;
    try {
      const options = await page.api("POST", "/auth_session/passkey/options", { json: {} });
      let credential;
      try {
        credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      } catch (e) {
        throw browserProblem(e);
      }
      const me = await page.api("POST", "/auth_session/passkey", { json: { response: credentialJson(credential) } });
      await page.loggedIn(me);
    } catch (e) {
      page.showResult("passkey-login-result", "problem", page.problemText("Signing in with a passkey failed", e));
    } finally {
      button.disabled = false;
    }
  }

  async function loadPasskeys() {
    let list;
    try {
      list = await page.api("GET", "/users/me/passkeys");
    } catch (e) {
      // A server without passkeys (404) keeps the section hidden.
      if (!page.handleSignedOut(e) && !(e instanceof page.ApiError && e.status === 404)) {
        page.showProblem("The passkeys could not be listed", e);
      }
      return;
    }
    $("passkeys").hidden = false;
    const ul = $("passkey-list");
    ul.replaceChildren();
    for (const p of list) {
      const li = document.createElement("li");
      const title = document.createElement("p");
      title.className = "session-title";
      title.textContent = p.name;
      const dl = document.createElement("dl");
      dl.className = "facts";
      page.setFacts(dl, [["Added", page.when(p.created_at)], ["Last used", page.when(p.last_used_at)]]);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove the passkey ${p.name}, added ${page.when(p.created_at)}`);
      remove.addEventListener("click", () => removePasskey(p.id, p.name));
      li.append(title, dl, remove);
      ul.append(li);
    }
    if (!list.length) {
      const li = document.createElement("li");
      li.textContent = "No passkey yet.";
      ul.append(li);
    }
  }

  async function addPasskey(event) {
    event.preventDefault();
    const form = event.target;
    const name = form.elements.name.value.trim();
    try {
      const options = await page.api("POST", "/users/me/passkeys/options", { json: {} });
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      } catch (e) {
        throw browserProblem(e);
      }
      const added = await page.api("POST", "/users/me/passkeys", {
        json: { response: credentialJson(credential), ...(name ? { name } : {}) },
      });
      form.reset();
      await loadPasskeys();
      page.showResult("passkey-result", "notice", `The passkey ${added.name} was added.`);
    } catch (e) {
      if (!page.handleSignedOut(e)) page.showResult("passkey-result", "problem", page.problemText("The passkey was not added", e));
    }
  }

  async function removePasskey(id, name) {
    try {
      await page.api("DELETE", `/users/me/passkeys/${encodeURIComponent(id)}`);
    } catch (e) {
      if (!page.handleSignedOut(e)) page.showProblem("The passkey could not be removed", e);
      return;
    }
    await loadPasskeys();
    page.showNotice(`The passkey ${name} was removed.`);
    // The button that had focus is gone: continue from the list's heading.
    $("passkeys-title").focus();
  }

  $("passkey-login").hidden = false;
  $("passkey-login-button").addEventListener("click", signInWithPasskey);
  $("passkey-form").addEventListener("submit", addPasskey);
  document.addEventListener("account-shown", () => void loadPasskeys());
})();
