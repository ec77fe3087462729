/**
 * Where a server's web listener binds (lib/config/server_flags.ts
 * `webListenAddress`): --web, else its own web URL of servers.txt — so a
 * server restarted by the README's command keeps the listener `npm start`
 * gave it and pages fail over to — and none with --no-web. Then the server
 * itself: started without --web it serves its page at its servers.txt URL
 * (answering to that URL's host and to --web-host names, 421 to others);
 * with --no-web it serves nothing; an https URL without a certificate stops
 * it with one line that says what to do. The listener's other flags need a
 * listener: --web or the servers file's URL.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { FlagError, parseServerFlags, webListenAddress } from "../lib/config/server_flags.ts";
import { makeCluster, removeTempDirs, runServerToExit, startServer, tempDir } from "../testing/harness.ts";
import { rawGet } from "../testing/raw_web.ts";

const flags = (...args: string[]) => parseServerFlags(["--id", "a", ...args]);
const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.instance(e, FlagError);
    return (e as Error).message;
  }
  throw new Error("not refused");
};

test("--web, else the servers file's web URL, else none; --no-web turns it off", () => {
  assert.equal(webListenAddress(flags(), "http://127.0.0.1:8001"), { host: "127.0.0.1", port: 8001 });
  assert.equal(webListenAddress(flags(), "http://[::1]:8002"), { host: "::1", port: 8002 });
  assert.equal(webListenAddress(flags(), "http://chat.example"), { host: "chat.example", port: 80 });
  assert.equal(webListenAddress(flags("--web", "0.0.0.0:9000"), "http://127.0.0.1:8001"), { host: "0.0.0.0", port: 9000 });
  assert.is(webListenAddress(flags(), undefined), null);
  assert.is(webListenAddress(flags("--no-web"), "http://127.0.0.1:8001"), null);
  assert.equal(webListenAddress(flags("--tls-cert", "c.pem", "--tls-key", "k.pem"), "https://127.0.0.1:8443"), { host: "127.0.0.1", port: 8443 });
});

test("refused with one line: an https URL without a certificate, --no-web with --web, a certificate with nowhere to serve", () => {
  assert.match(refused(() => webListenAddress(flags(), "https://127.0.0.1:8443")), /--tls-cert FILE --tls-key FILE, or start without it: --no-web/);
  assert.match(refused(() => flags("--no-web", "--web", "127.0.0.1:8001")), /--no-web/);
  assert.match(refused(() => webListenAddress(flags("--tls-cert", "c.pem", "--tls-key", "k.pem"), undefined)), /--tls-cert needs --web/);
});

test("the web listener's other flags (--web-host, --metrics-allow, budgets) go with --web or with the servers file's URL; not with --no-web", () => {
  const url = "http://127.0.0.1:8001";
  for (const extra of [["--web-host", "chat.example.org"], ["--metrics-allow", "10.0.0.0/8"], ["--web-connections", "100"], ["--web-connections-per-ip", "5"], ["--web-timeout", "20"]]) {
    assert.equal(webListenAddress(flags(...extra), url), { host: "127.0.0.1", port: 8001 }, `${extra[0]} with the default listener`);
    assert.equal(webListenAddress(flags("--web", "127.0.0.1:9000", ...extra), undefined), { host: "127.0.0.1", port: 9000 }, `${extra[0]} with --web`);
    assert.match(refused(() => webListenAddress(flags(...extra), undefined)), new RegExp(`^${extra[0]} needs --web HOST:PORT \\(or a web URL`), `${extra[0]} with nowhere to serve`);
    assert.match(refused(() => flags("--no-web", ...extra)), new RegExp(`--no-web turns the web listener off: leave out ${extra[0]}`));
  }
  assert.equal(flags("--web-host", "chat.example.org").webHosts, ["chat.example.org"]);
});

test("a server started without --web serves its page at its servers.txt URL; with --no-web, nothing", async () => {
  try {
    const { file } = await makeCluster(["a"], tempDir(), { web: "http" });
    const withWeb = await startServer({ id: "a", servers: file, extraArgs: ["--web-host", "chat.example.org"] });
    try {
      assert.ok(withWeb.web, "the web listener is up");
      const res = await fetch(`${withWeb.web}/`);
      assert.is(res.status, 200);
      assert.match(await res.text(), /<title>DistChat<\/title>/);
      // Its Host names: its servers.txt URL's, and --web-host's though --web was not given; others get 421.
      const port = new URL(withWeb.web).port;
      assert.is((await rawGet(withWeb.web, "/", { headers: { Host: `chat.example.org:${port}` } })).status, 200);
      const evil = await rawGet(withWeb.web, "/", { headers: { Host: `evil.example:${port}` } });
      assert.is(evil.status, 421);
      assert.is(evil.headers["x-frame-options"], "DENY", "a refusal carries the security headers");
      assert.match(withWeb.stdout(), /: web http:\/\/\S+\/ \(page, WebSocket \/ws, POST \/dc, GET \/metrics\)/, "the start line names the WebSocket");
    } finally {
      const exit = await withWeb.stop();
      assert.is(exit.code, 0);
      assert.match(withWeb.stdout(), /: stopped \(SIGTERM\); database \S+ closed\n$/, "one line says it stopped");
    }
    const noWeb = await startServer({ id: "a", servers: file, db: join(tempDir(), "a.sqlite"), extraArgs: ["--no-web"] });
    try {
      assert.is(noWeb.web, null);
      assert.not.match(noWeb.stdout(), /: web /);
    } finally {
      await noWeb.stop();
    }
  } finally {
    removeTempDirs();
  }
});

test("an https web URL without --tls-cert stops the server with one line saying what to do", async () => {
  try {
    const dir = tempDir();
    const { file } = await makeCluster(["t"], dir, { web: "https" });
    const r = await runServerToExit(["--id", "t", "--servers", file, "--db", join(dir, "t.sqlite")]);
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /web URL https:\/\/127\.0\.0\.1:\d+: serve it with --tls-cert FILE --tls-key FILE, or start without it: --no-web/);
  } finally {
    removeTempDirs();
  }
});

test.run();
