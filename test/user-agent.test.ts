import { describe, it } from "node:test";
import assert from "node:assert/strict";
import "../src/http/pages/user-agent.js";

/** The sign-in page's names for the programs of a user's sessions (src/http/pages/user-agent.js). */
const describeUserAgent = (globalThis as unknown as { describeUserAgent: (ua: unknown) => string }).describeUserAgent;

describe("the sign-in page's names for User-Agent strings", () => {
  const cases: [string, string][] = [
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
      "Headless Chrome on Linux",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
      "Edge on Windows",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
      "Safari on macOS",
    ],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      "Safari on iOS",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
      "Chrome on iOS",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
      "Chrome on Android",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
      "Samsung Internet on Android",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
      "Opera on Windows",
    ],
    [
      "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      "Chrome on ChromeOS",
    ],
    ["curl/8.5.0", "curl"],
    ["python-requests/2.32.3", "Python requests"],
    ["node", "Node.js"],
    ["Deno/2.1.4", "Deno"],
    ["Bun/1.1.38", "Bun"],
  ];
  for (const [ua, name] of cases) {
    it(`${name}: ${ua.slice(0, 60)}`, () => assert.equal(describeUserAgent(ua), name));
  }

  it("says so when there is nothing to name, and shortens a string it does not know", () => {
    assert.equal(describeUserAgent(null), "Unknown browser or program");
    assert.equal(describeUserAgent(""), "Unknown browser or program");
    assert.equal(describeUserAgent("my-sync-tool/1.0"), "my-sync-tool/1.0");
    const long = `acme-${"x".repeat(80)}`;
    assert.equal(describeUserAgent(long), `${long.slice(0, 39)}…`);
  });
});
