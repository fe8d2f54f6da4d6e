// Names a session's program for people: "Chrome on Linux" instead of the
// User-Agent string it sent. A short table, not a full parser: the page
// shows the raw string next to it, so a wrong or missing guess costs
// nothing. A script of its own (loaded before sign-in.js), so that the
// tests can run it outside a browser.

// Browsers, first match wins: the order matters, since Edge and Opera also
// say "Chrome", Chrome also says "Safari", and iOS browsers say "Safari".
const BROWSERS = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bCriOS\//, "Chrome"],
  [/\bHeadlessChrome\//, "Headless Chrome"],
  [/\bChromium\//, "Chromium"],
  [/\bChrome\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  [/^curl\//, "curl"],
  [/^Wget\//i, "Wget"],
  [/^python-requests\//, "Python requests"],
  [/^Python-urllib\//, "Python urllib"],
  [/^(node-fetch|undici)\b|^node$/, "Node.js"],
  [/^Deno\//, "Deno"],
  [/^Bun\//, "Bun"],
  [/^PostmanRuntime\//, "Postman"],
  [/^HTTPie\//, "HTTPie"],
];

// Systems, first match wins: Android says "Linux", iOS says "like Mac OS X".
const SYSTEMS = [
  [/\bAndroid\b/, "Android"],
  [/\b(iPhone|iPad|iPod)\b/, "iOS"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** "Chrome on Linux", "Firefox", "curl", or the string itself (shortened) when nothing is known of it. */
function describeUserAgent(userAgent) {
  const ua = typeof userAgent === "string" ? userAgent.trim() : "";
  if (!ua) return "Unknown browser or program";
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `A browser on ${system}`;
  return ua.length > 40 ? `${ua.slice(0, 39)}…` : ua;
}

globalThis.describeUserAgent = describeUserAgent;
