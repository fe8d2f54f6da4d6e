// Two-step verification on the sign-in page: the code a login asks for,
// and setting up, confirming and turning off an authenticator app (TOTP).
// Plain JavaScript like sign-in.js, whose helpers (api, ApiError,
// showResult, problemText) it calls once the page has started; it hands
// sign-in.js three hooks as globalThis.secondFactor. The QR code is drawn
// here, as SVG, from the modules qrcode.js (qrcode-generator) computes: the
// secret never leaves the page for another service.

(() => {
  const byId = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  /** The QR code of `text` as an SVG element: one path of dark modules on a light square, with a quiet zone. */
  function qrSvg(text, label) {
    const qr = globalThis.qrcode(0, "M");
    qr.addData(text);
    qr.make();
    const n = qr.getModuleCount();
    const quiet = 4;
    let d = "";
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
    }
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${n + 2 * quiet} ${n + 2 * quiet}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svg.setAttribute("shape-rendering", "crispEdges");
    const back = document.createElementNS(SVG, "rect");
    for (const [k, v] of [["width", "100%"], ["height", "100%"], ["fill", "#fff"]]) back.setAttribute(k, v);
    const dark = document.createElementNS(SVG, "path");
    dark.setAttribute("d", d);
    dark.setAttribute("fill", "#000");
    svg.append(back, dark);
    return svg;
  }

  /** Shows the factors' state and the controls that fit it. */
  async function show(me) {
    if (me) byId("totp-disable-username").value = me.email ?? "";
    let factors;
    try {
      factors = await api("GET", "/users/me/factors");
    } catch (e) {
      byId("factors-state").textContent = problemText("The two-step verification state could not be read", e);
      return;
    }
    const left = factors.recovery_codes_left;
    byId("factors-state").textContent = factors.totp
      ? `On: logging in asks for a code from your authenticator app. ${left} recovery code${left === 1 ? "" : "s"} left.`
      : "Off: your password alone logs you in.";
    byId("totp-start").hidden = factors.totp;
    byId("totp-disable-form").hidden = !factors.totp;
    byId("totp-setup").hidden = true;
  }

  async function start() {
    let enrolment;
    try {
      enrolment = await api("POST", "/users/me/totp");
    } catch (e) {
      return showResult("factors-result", "problem", problemText("The set-up could not start", e));
    }
    byId("totp-qr").replaceChildren(qrSvg(enrolment.otpauth_url, "QR code for your authenticator app"));
    byId("totp-secret").textContent = enrolment.secret;
    byId("totp-recovery").hidden = true;
    byId("totp-setup").hidden = false;
    byId("totp-start").hidden = true;
    byId("totp-code").focus();
  }

  async function confirm(event) {
    event.preventDefault();
    const form = event.target;
    let answer;
    try {
      answer = await api("POST", "/users/me/totp/confirm", { json: { code: form.elements.code.value.trim() } });
    } catch (e) {
      return showResult("factors-result", "problem", problemText("Two-step verification is not on", e));
    }
    form.reset();
    const list = byId("totp-recovery-codes");
    list.replaceChildren(...answer.recovery_codes.map((code) => {
      const li = document.createElement("li");
      li.textContent = code;
      return li;
    }));
    await show();
    byId("totp-recovery").hidden = false;
    showResult("factors-result", "notice", "Two-step verification is on. Write down your recovery codes now.");
  }

  async function disable(event) {
    event.preventDefault();
    const form = event.target;
    try {
      await api("DELETE", "/users/me/totp", { json: { current_password: form.elements.current_password.value } });
    } catch (e) {
      const why = e instanceof ApiError && e.status === 401 ? new Error("the current password is wrong") : e;
      return showResult("factors-result", "problem", problemText("Two-step verification is still on", why));
    }
    form.reset();
    byId("totp-recovery").hidden = true;
    await show();
    showResult("factors-result", "notice", "Two-step verification is off.");
  }

  /** The login form's code field: shown and sent only once the server asked for it. */
  function codeField(on) {
    byId("login-code-field").hidden = !on;
    byId("login-code").disabled = !on;
    byId("login-code").required = on;
  }

  byId("totp-start").addEventListener("click", start);
  byId("totp-confirm-form").addEventListener("submit", confirm);
  byId("totp-disable-form").addEventListener("submit", disable);

  globalThis.secondFactor = {
    show,
    reset: () => codeField(false),
    /** A login's refusal that asks for the code: the same form asks for it and is sent again. True when handled. */
    onLoginError(error) {
      if (!(error instanceof ApiError) || error.status !== 401) return false;
      if (error.message !== "second factor required" && error.message !== "invalid code") return false;
      const first = error.message === "second factor required";
      codeField(true);
      byId("login-code").value = "";
      showResult(
        "login-result",
        first ? "notice" : "problem",
        first ? "Enter the 6-digit code from your authenticator app, or a recovery code." : problemText("Logging in failed", error),
      );
      byId("login-code").focus();
      return true;
    },
  };
})();
