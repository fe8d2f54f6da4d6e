// The sign-in page's script: plain JavaScript, no build step. It talks to
// the API of its own origin with fetch. The session lives in an HttpOnly
// cookie that this script never sees; nothing is kept in localStorage or
// sessionStorage.

const API = "/api/v1";
const $ = (id) => document.getElementById(id);

/** An answer of the API that is not a success, with the API's own words. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * One request to the API. `json` is sent as a JSON body, `form` as form
 * fields. Same-origin fetches carry the cookie, `Origin` and
 * `Sec-Fetch-Site: same-origin`, which the service's CSRF check accepts.
 */
async function api(method, path, { json, form } = {}) {
  // The page's own routes (/page/...) are not the API's.
  const url = path.startsWith("/page/") ? path : API + path;
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const said = data && typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
    throw new ApiError(response.status, said);
  }
  return data;
}

// Messages: at the top, one region for problems (role=alert), one for what
// went well (role=status); a form's result goes right under the form.

/** "What failed: the API's own words" ("invalid email or password", "Too many failed logins; retry in 60 seconds"...). */
function problemText(what, error) {
  return `${what}: ${error instanceof Error ? error.message : String(error)}`;
}

function clearResults() {
  for (const result of document.querySelectorAll(".result")) {
    result.hidden = true;
    result.textContent = "";
  }
}

function showProblem(what, error) {
  clearResults();
  $("notice").textContent = "";
  $("problem").textContent = problemText(what, error);
  $("problem").hidden = false;
}

function showNotice(text) {
  clearResults();
  $("problem").hidden = true;
  $("problem").textContent = "";
  $("notice").textContent = text;
}

function clearMessages() {
  showNotice("");
}

/**
 * A form's result, under the form, with focus moved to it: where the eye
 * and a screen reader are, not at the top of a page scrolled away from.
 */
function showResult(id, kind, text) {
  clearMessages();
  const result = $(id);
  result.className = `result ${kind}`;
  result.textContent = text;
  result.hidden = false;
  // In the middle of the window: the form above it stays in sight (focus alone may stop at its very edge).
  result.focus({ preventScroll: true });
  result.scrollIntoView({ block: "center" });
}

/** "Chrome on Linux" (user-agent.js), or the raw string if that script did not load. */
const describe = (userAgent) => globalThis.describeUserAgent?.(userAgent) ?? (userAgent || "Unknown browser or program");

/** "2024-03-01T10:00:00" (UTC, the API's form) → "2024-03-01 10:00 UTC". */
function when(timestamp) {
  return timestamp ? `${timestamp.slice(0, 10)} ${timestamp.slice(11, 16)} UTC` : "never";
}

function setFacts(dl, facts) {
  dl.replaceChildren();
  for (const [term, value] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

// What GET /auth_type says; auth_type stays undefined if the server cannot tell.
let mode = { auth_type: undefined, sessions: true };
let signedIn = false;
// Where to go after a login (`?next=`), as the server allowed it: null when absent or refused.
let next = null;

/**
 * The `next` this page was opened with: everything after `next=`. A proxy
 * sending the browser here cannot percent-encode (nginx, Caddy), so the URL
 * may come as it is, its own `&` and `?` included (a value starting with a
 * scheme); one that was encoded is decoded.
 */
function askedNext() {
  const value = /[?&]next=(.*)$/s.exec(location.search)?.[1];
  if (value === undefined || /^[a-z][a-z0-9+.-]*:/i.test(value)) return value ?? null;
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    return value;
  }
}

/** Which sections show: signed in, signed out, or sessions off. */
function showView(view) {
  signedIn = view === "signed-in";
  $("signed-in").hidden = view !== "signed-in";
  $("signed-out").hidden = view !== "signed-out";
  $("sessions-off").hidden = view !== "sessions-off";
  // Creating an account needs a signed-in user, except when the API checks nothing at all.
  const openApi = mode.auth_type === null;
  $("sign-up").hidden = !(signedIn || openApi);
  $("sign-up-note").textContent = openApi
    ? "AUTH_TYPE is unset: anyone may create an account."
    : "Create an account for someone else; they log in with it on their own device.";
  // For account-flows.js (sign-up, password reset, email): which view shows now.
  document.dispatchEvent(new CustomEvent("page-view", { detail: view }));
}

function explainMode() {
  const type = mode.auth_type;
  if (mode.sessions) {
    const which = type ? ` (AUTH_TYPE=${type})` : "";
    $("mode").textContent = `This server keeps sessions${which}. Logging in sets a cookie that no script, this page's included, can read.`;
    return;
  }
  $("mode").textContent = type === null ? "This server checks no credentials (AUTH_TYPE is unset)." : `This server runs AUTH_TYPE=${type}.`;
  const why = {
    basic_auth: "With basic_auth, every request carries the email and password in an Authorization: Basic header " +
      "(for example curl -u email:password). Nothing is logged in, so there is nothing to log out of here.",
    auth: "With AUTH_TYPE=auth, the API refuses every request that is not public. Logging in is not possible.",
  }[type] ?? "Every route is open and nobody logs in. Set AUTH_TYPE to session_auth, session_exp_auth or " +
      "session_db_auth to log in with a session.";
  $("sessions-off-text").textContent = why;
}

async function showAccount(me) {
  setFacts($("me"), [
    ["Email", me.email ?? "(none)"],
    ["Name", [me.first_name, me.last_name].filter(Boolean).join(" ") || "(not set)"],
    ["Id", me.id],
    ["Member since", when(me.created_at)],
  ]);
  $("password-username").value = me.email ?? "";
  // For account-flows.js: the user shown (its email_verified, when the server verifies addresses).
  document.dispatchEvent(new CustomEvent("page-account", { detail: me }));
  showView("signed-in");
  // Other parts of the page (passkeys.js) fill their sections of the account too.
  document.dispatchEvent(new CustomEvent("account-shown", { detail: me }));
  await loadSessions();
  await globalThis.secondFactor?.show(me);
}

async function loadSessions() {
  let list;
  try {
    list = await api("GET", "/auth_session/sessions");
  } catch (e) {
    if (!handleSignedOut(e)) showProblem("The sessions could not be listed", e);
    return;
  }
  const ul = $("sessions");
  ul.replaceChildren();
  // This browser's session first, then the others, newest first.
  for (const s of [...list.filter((s) => s.current), ...list.filter((s) => !s.current)]) {
    const li = document.createElement("li");
    const title = document.createElement("p");
    title.className = "session-title";
    // "Chrome on Linux", with the string the program sent on demand (its tooltip, and a details element).
    title.textContent = describe(s.user_agent);
    if (s.user_agent) title.title = s.user_agent;
    if (s.current) {
      const badge = document.createElement("strong");
      badge.className = "badge";
      badge.textContent = "this browser";
      title.append(" ", badge);
    }
    const dl = document.createElement("dl");
    dl.className = "facts";
    setFacts(dl, [
      ["Started", when(s.created_at)],
      ["Last used", when(s.last_seen_at)],
      ["Ends", s.expires_at ? when(s.expires_at) : "when you log out"],
      ["From", s.ip ?? "unknown"],
    ]);
    li.append(title, dl);
    if (s.user_agent) {
      const details = document.createElement("details");
      details.className = "user-agent";
      const summary = document.createElement("summary");
      summary.textContent = "User-Agent";
      const code = document.createElement("code");
      code.textContent = s.user_agent;
      details.append(summary, code);
      li.append(details);
    }
    if (!s.current) {
      const end = document.createElement("button");
      end.type = "button";
      end.textContent = "End this session";
      end.setAttribute("aria-label", `End the session of ${title.textContent}, started ${when(s.created_at)}`);
      end.addEventListener("click", () => endSession(s.id));
      li.append(end);
    }
    ul.append(li);
  }
  $("end-others").hidden = !list.some((s) => !s.current);
}

/** A 401 or 403 while signed in: the session ended elsewhere. True when handled. */
function handleSignedOut(error) {
  if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 403) || !signedIn) return false;
  showView("signed-out");
  showProblem("You are no longer signed in", new Error("this session has ended; log in again"));
  $("login-email").focus();
  return true;
}

async function endSession(id) {
  try {
    await api("DELETE", `/auth_session/sessions/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!handleSignedOut(e)) showProblem("The session could not be ended", e);
    return;
  }
  await loadSessions();
  showNotice("The session has ended.");
  // The button that had focus is gone: continue from the list's heading.
  $("sessions-title").focus();
}

async function endOthers() {
  try {
    const { ended } = await api("DELETE", "/auth_session/sessions");
    await loadSessions();
    showNotice(ended === 1 ? "1 other session has ended." : `${ended} other sessions have ended.`);
    $("sessions-title").focus();
  } catch (e) {
    if (!handleSignedOut(e)) showProblem("The other sessions could not be ended", e);
  }
}

function fields(form) {
  return Object.fromEntries(new FormData(form));
}

/** After any login (password, passkey): back to the app that sent the browser here (`?next=`), or the account. */
async function loggedIn(me) {
  if (next) return location.assign(next);
  await showAccount(me);
  showNotice(`Welcome, ${me.email}.`);
  $("me-title").focus();
}

async function logIn(event) {
  event.preventDefault();
  clearMessages();
  const form = event.target;
  try {
    // As form fields, as an HTML form would send them.
    const me = await api("POST", "/auth_session/login", { form: new FormData(form) });
    form.reset();
    globalThis.secondFactor?.reset();
    await loggedIn(me);
  } catch (e) {
    // "second factor required" or "invalid code": the same form asks for the code (totp.js).
    if (globalThis.secondFactor?.onLoginError(e)) return;
    if (e instanceof ApiError && e.status === 400 && e.message.startsWith("Sessions are not enabled")) {
      // "Sessions are not enabled: AUTH_TYPE is basic_auth; use ...": the answer names the type.
      const named = /AUTH_TYPE is (\w+)/.exec(e.message)?.[1];
      mode = { auth_type: named === "unset" ? null : named, sessions: false };
      explainMode();
      showView("sessions-off");
      return showProblem("Logging in failed", e);
    }
    showResult("login-result", "problem", problemText("Logging in failed", e));
  }
}

async function logOut() {
  clearMessages();
  try {
    await api("DELETE", "/auth_session/logout");
  } catch (e) {
    // Already logged out elsewhere: the goal is reached all the same.
    if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 403)) return showProblem("Logging out failed", e);
  }
  showView("signed-out");
  showNotice("You are logged out.");
  $("login-email").focus();
}

async function changePassword(event) {
  event.preventDefault();
  clearMessages();
  const form = event.target;
  try {
    await api("PUT", "/users/me/password", { json: fields(form) });
    form.reset();
    await loadSessions();
    showResult("password-result", "notice", "Your password has changed. Every other session has ended.");
  } catch (e) {
    // A wrong current password is a 401 that does not mean "signed out".
    if (e instanceof ApiError && e.status === 401 && e.message === "invalid email or password") {
      showResult("password-result", "problem", problemText("The password did not change", new Error("the current password is wrong")));
    } else if (!handleSignedOut(e)) showResult("password-result", "problem", problemText("The password did not change", e));
  }
}

/** A sign-up form's fields as POST /users takes them: an empty name is left out rather than sent as "". */
function newUserFields(form) {
  const body = fields(form);
  for (const name of ["first_name", "last_name"]) if (body[name] === "") delete body[name];
  return body;
}

async function signUp(event) {
  event.preventDefault();
  clearMessages();
  const form = event.target;
  try {
    const user = await api("POST", "/users", { json: newUserFields(form) });
    form.reset();
    showResult("sign-up-result", "notice", `The account ${user.email} was created.`);
  } catch (e) {
    if (!handleSignedOut(e)) showResult("sign-up-result", "problem", problemText("The account was not created", e));
  }
}

async function start() {
  $("login-form").addEventListener("submit", logIn);
  $("password-form").addEventListener("submit", changePassword);
  $("sign-up-form").addEventListener("submit", signUp);
  $("logout").addEventListener("click", logOut);
  $("end-others").addEventListener("click", endOthers);
  try {
    mode = await api("GET", "/auth_type");
  } catch {
    // An older server without /auth_type: assume sessions; a login's 400 tells otherwise.
  }
  explainMode();
  if (!mode.sessions) return showView("sessions-off");
  try {
    // Not GET /api/v1/users/me: signed out, its 401 would show in the console as a failed request.
    // The server judges ?next= (its own host, COOKIE_DOMAIN) and logs a refusal: the page cannot do either.
    const asked = askedNext();
    const answer = await api("GET", asked === null ? "/page/session" : `/page/session?next=${encodeURIComponent(asked)}`);
    next = answer.next ?? null;
    // Already signed in (back from an app that sent the browser here): straight on.
    if (answer.user && next) return location.replace(next);
    const { user } = answer;
    if (user) await showAccount(user);
    else showView("signed-out");
    // That app sent the browser straight back: it does not see this login, and going on again would loop.
    if (answer.bounced) {
      const why = "it does not see this login. Log out and in again, or ask the administrator to check COOKIE_DOMAIN";
      showProblem(`${answer.bounced} sent you back here`, new Error(why));
    }
  } catch (e) {
    showView("signed-out");
    showProblem("Your account could not be loaded", e);
  }
}

// What the page's other scripts (passkeys.js) use: one way to call the API and to show results.
globalThis.signInPage = {
  api,
  ApiError,
  loggedIn,
  showAccount,
  showNotice,
  showProblem,
  showResult,
  problemText,
  handleSignedOut,
  setFacts,
  when,
};

start();
