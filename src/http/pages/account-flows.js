// The sign-in page's self-service flows: creating one's own account
// (SIGNUP=open), a forgotten password, the links an email brings
// (#reset=<token>, #verify=<token>), verifying and changing one's address.
//
// Loaded before sign-in.js and run once it has run too: it uses its helpers
// (api, ApiError, $, fields, newUserFields, showResult, showNotice, showProblem, clearMessages, problemText,
// handleSignedOut, showAccount, showView, mode; classic scripts share one
// global scope) and follows the page through the two events sign-in.js
// sends: "page-view" (which view shows) and "page-account" (the user shown).
// Everything of its own stays inside this function, so that no name can
// clash with sign-in.js's.

(() => {
  // What GET /page/config says; until it answers (or on an older server
  // without it), nothing that needs it is offered.
  let settings = { signup: "authenticated", email: false, email_verification: "off" };
  let view = null;
  let account = null;
  let resetToken = null;
  let viewKnown;
  /** Resolves once sign-in.js has shown its first view (signed in or not). */
  const firstView = new Promise((resolve) => (viewKnown = resolve));

  /**
   * The one-time token of an emailed link, taken out of the address bar at
   * once: replaceState rewrites this page's history entry, so the token is
   * not bookmarked, synced, kept in the history or shown over a shoulder.
   * (A fragment is never sent to a server, nor in a Referer.)
   */
  function takeToken() {
    const match = /^#(reset|verify)=([^&]+)$/.exec(location.hash);
    if (!match) return null;
    history.replaceState(history.state, "", location.pathname + location.search);
    let token = match[2];
    try {
      token = decodeURIComponent(token);
    } catch {
      // Not percent-encoded after all: the server says whether it is a token.
    }
    return { purpose: match[1], token };
  }

  const pending = takeToken();

  /** Shows or hides one of the sections the links open, and says so on its link. */
  function setOpen(id, open) {
    $(id).hidden = !open;
    $(`show-${id}`).setAttribute("aria-expanded", String(open));
  }

  function toggle(id) {
    const open = $(id).hidden;
    setOpen(id, open);
    if (open) $(`${id}-title`).focus();
  }

  /** What shows, from the view and the settings: a link the server would refuse is not shown. */
  function arrange() {
    const signedOut = view === "signed-out";
    const register = signedOut && settings.signup === "open";
    const forgot = signedOut && settings.email;
    $("show-register").hidden = !register;
    $("show-forgot").hidden = !forgot;
    $("account-links").hidden = !(register || forgot);
    if (!register) setOpen("register", false);
    if (!forgot) setOpen("forgot", false);
    $("no-account-hint").hidden = settings.signup === "open";
    if (settings.signup === "closed") {
      $("no-account-who").textContent = "Whoever runs the server creates accounts, with";
      // The API refuses to create accounts, for signed-in users too.
      $("sign-up").hidden = true;
    }
    $("email-section").hidden = !(view === "signed-in" && settings.email);
  }

  /** The user shown: whether its address is verified, when the server verifies addresses. */
  function showEmail(me) {
    account = me;
    const verified = me.email_verified;
    $("email-status").textContent = verified === false
      ? `${me.email} is not verified yet: follow the link we sent to it.`
      : verified === true
      ? `${me.email} is verified.`
      : `Your address is ${me.email}.`;
    $("resend-verification").hidden = verified !== false;
  }

  /** After a change made through a link: the page as the server now sees this browser. */
  async function reload() {
    if (!mode.sessions) return;
    const { user } = await api("GET", "/page/session");
    if (user) await showAccount(user);
    else showView("signed-out");
  }

  async function register(event) {
    event.preventDefault();
    clearMessages();
    const form = event.target;
    try {
      const user = await api("POST", "/users", { json: newUserFields(form) });
      form.reset();
      const next = {
        required: `We sent a link to ${user.email}: follow it to verify your address, then log in.`,
        optional: `We sent a link to ${user.email} to verify your address. You can log in now.`,
      }[settings.email_verification] ?? "You can log in now.";
      showResult("register-result", "notice", `Your account ${user.email} was created. ${next}`);
      $("login-email").value = user.email;
    } catch (e) {
      showResult("register-result", "problem", problemText("Your account was not created", e));
    }
  }

  async function forgot(event) {
    event.preventDefault();
    clearMessages();
    const form = event.target;
    try {
      await api("POST", "/auth_session/password_reset", { json: fields(form) });
      // The same answer whether or not the account exists: the server does not say, nor does the page.
      showResult(
        "forgot-result",
        "notice",
        "If an account exists for that address, we sent a link to it: follow it to choose a new password.",
      );
    } catch (e) {
      showResult("forgot-result", "problem", problemText("The link was not sent", e));
    }
  }

  async function reset(event) {
    event.preventDefault();
    clearMessages();
    const form = event.target;
    const password = $("reset-password").value;
    if (password !== $("reset-again").value) {
      return showResult("reset-result", "problem", problemText("The password did not change", new Error("the two passwords differ")));
    }
    try {
      await api("POST", "/auth_session/password_reset/confirm", { json: { token: resetToken, new_password: password } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && e.message === "invalid or expired token") {
        // The link is used up: asking again for a password it cannot set would only waste the user's time.
        resetToken = null;
        form.hidden = true;
        return showResult(
          "reset-result",
          "problem",
          `${problemText("The password did not change", e)}. Ask for a new link with "Forgot your password?".`,
        );
      }
      return showResult("reset-result", "problem", problemText("The password did not change", e));
    }
    resetToken = null;
    form.reset();
    $("reset").hidden = true;
    await reload().catch(() => showView("signed-out"));
    showNotice("Your password has changed, and every session of your account has ended. Log in with the new password.");
    if (view === "signed-out") $("login-email").focus();
  }

  async function verify(token) {
    await firstView;
    try {
      await api("POST", "/auth_session/verify_email", { json: { token } });
    } catch (e) {
      return showProblem("Your email address was not verified", e);
    }
    if (view === "signed-in") await reload().catch(() => {});
    showNotice(view === "signed-in" ? "Your email address is verified." : "Your email address is verified. You can log in.");
    if (view === "signed-out") $("login-email").focus();
  }

  function openReset(token) {
    resetToken = token;
    // The link has come: the form that asked for it has done its part.
    setOpen("forgot", false);
    $("reset-form").hidden = false;
    $("reset").hidden = false;
    $("reset-title").focus();
  }

  function follow(link) {
    if (link?.purpose === "reset") openReset(link.token);
    else if (link?.purpose === "verify") verify(link.token);
  }

  async function resend() {
    clearMessages();
    try {
      await api("POST", "/users/me/email_verification");
      showResult("resend-result", "notice", `We sent a new link to ${account.email}.`);
    } catch (e) {
      if (!handleSignedOut(e)) showResult("resend-result", "problem", problemText("The email was not sent", e));
    }
  }

  async function changeEmail(event) {
    event.preventDefault();
    clearMessages();
    const form = event.target;
    const body = fields(form);
    try {
      await api("PUT", "/users/me/email", { json: body });
      form.reset();
      showResult(
        "change-email-result",
        "notice",
        `We sent a link to ${body.email}: your address changes when you follow it. Until then it stays ${account.email}.`,
      );
    } catch (e) {
      // A wrong current password is a 401 that does not mean "signed out".
      if (e instanceof ApiError && e.status === 401 && e.message !== "Unauthorized") {
        const why = e.message === "invalid email or password" ? new Error("the current password is wrong") : e;
        showResult("change-email-result", "problem", problemText("The email address did not change", why));
      } else if (!handleSignedOut(e)) showResult("change-email-result", "problem", problemText("The email address did not change", e));
    }
  }

  document.addEventListener("page-view", (event) => {
    view = event.detail;
    arrange();
    viewKnown();
  });
  document.addEventListener("page-account", (event) => showEmail(event.detail));

  // Deferred scripts have all run: sign-in.js's helpers exist.
  document.addEventListener("DOMContentLoaded", async () => {
    $("show-register").addEventListener("click", () => toggle("register"));
    $("show-forgot").addEventListener("click", () => toggle("forgot"));
    $("register-form").addEventListener("submit", register);
    $("forgot-form").addEventListener("submit", forgot);
    $("reset-form").addEventListener("submit", reset);
    $("resend-verification").addEventListener("click", resend);
    $("change-email-form").addEventListener("submit", changeEmail);
    // A link opened in a tab that already shows the page only changes the fragment.
    addEventListener("hashchange", () => follow(takeToken()));
    if (pending?.purpose === "reset") openReset(pending.token);
    try {
      settings = { ...settings, ...await api("GET", "/page/config") };
    } catch {
      // An older server: the page offers what it always did.
    }
    arrange();
    if (pending?.purpose === "verify") verify(pending.token);
  });
})();
