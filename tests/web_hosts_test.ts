/**
 * What the web listener answers, and to whom, against a real server
 * process (issue 20 rows 14 and 16, issue 22 item 5):
 * - a request or WebSocket upgrade whose Host is an attacker's domain (DNS
 *   rebinding) gets 421, whatever its Origin, and one with two Hosts or a
 *   target that is not a path (absolute form) 400; servers.txt's names,
 *   `--web-host` names, IPs and localhost pass, and a page's own origin is
 *   that of a Host that passed;
 * - every response — pages, `304`s, datagram replies, preflights, refusals,
 *   refused upgrades — carries the security headers docs/PROTOCOL.md lists;
 * - `/metrics` is served to `--metrics-allow` sources only, a scrape a
 *   second each, with counts kept as messages come (not counted per scrape),
 *   and scrapers do not keep users from being served.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import net from "node:net";
import { sleep } from "../testing/cluster_ops.ts";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { legitServed, rawGet, rawWebSocket } from "../testing/raw_web.ts";

const PAGE_ID = "hosts-page-0123456789";
let srv: ServerHandle;
let web: string;
let port: number;
let other: string;

test.before(async () => {
  const { file } = await makeCluster(["a", "b"], tempDir(), { web: "http" });
  const urls = readFileSync(file, "utf8").split("\n").filter((l) => /^[ab] /.test(l)).map((l) => l.split(" ")[3]);
  const at = new URL(urls[0]);
  other = urls[1];
  srv = await startServer({
    id: "a",
    servers: file,
    // No HTTP request rate here (tests/web_flood_test.ts has it): row 14's scrapers would put 127.0.0.1 in debt, and the test's
    // own requests after them would be closed unread.
    extraArgs: ["--web", `${at.hostname}:${at.port}`, "--one-disk-acks", "--web-host", "chat.example.org", "--metrics-allow", "127.0.0.1/32", "--web-request-rate", "0"],
  });
  web = srv.web!;
  port = Number(at.port);
});
test.after(async () => {
  await srv?.stop();
  removeTempDirs();
});

const post = (body: string, headers: Record<string, string> = {}, localAddress?: string) =>
  rawGet(web, "/dc", { method: "POST", body, headers: { "X-DistChat-Client": PAGE_ID, ...headers }, localAddress });

/** The response carries every security header of docs/PROTOCOL.md "Web transport". */
function secured(r: { headers: Record<string, string | string[] | undefined> }, what: string): void {
  assert.match(String(r.headers["content-security-policy"]), /default-src 'none'.*frame-ancestors 'none'/, `${what}: CSP`);
  assert.is(r.headers["referrer-policy"], "no-referrer", `${what}: Referrer-Policy`);
  assert.is(r.headers["x-frame-options"], "DENY", `${what}: X-Frame-Options`);
  assert.is(r.headers["x-content-type-options"], "nosniff", `${what}: nosniff`);
}

test("row 16: an attacker's Host gets 421 for pages, datagrams, upgrades and /metrics; our names, IPs and localhost pass", async () => {
  const evil = { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` };
  for (const [path, method] of [["/", "GET"], ["/servers.json", "GET"], ["/metrics", "GET"], ["/dc", "POST"], ["/dc", "OPTIONS"]]) {
    const r = await rawGet(web, path, { method, headers: { ...evil, "X-DistChat-Client": PAGE_ID }, body: method === "POST" ? "login\n1\nrebound\n" : undefined });
    assert.is(r.status, 421, `${method} ${path}`);
    secured(r, `421 ${path}`);
  }
  assert.is((await rawGet(web, "/", { headers: { Host: "evil.example" } })).status, 421, "without an Origin too");
  assert.is((await rawWebSocket(web, { host: evil.Host, origin: evil.Origin })).status, 421, "WebSocket upgrade");
  assert.is((await rawWebSocket(web, { host: evil.Host })).status, 421, "WebSocket upgrade without an Origin");
  // Names of ours: the page's own origin is that of a Host that passed.
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `chat.example.org:${port}`, "chat.example.org"]) {
    assert.is((await rawGet(web, "/", { headers: { Host: host } })).status, 200, host);
  }
  const mine = await post("login\nh1\nnamed\n", { Host: `chat.example.org:${port}`, Origin: `http://chat.example.org:${port}` });
  assert.is(mine.status, 200);
  assert.match(mine.body, /^ok\nh1\nlogin\nnamed\n/);
  const ws = await rawWebSocket(web, { host: `chat.example.org:${port}`, origin: `http://chat.example.org:${port}` });
  assert.is(ws.status, 101);
  ws.socket.destroy();
  assert.is((await post("login\nh2\nx\n", { Host: `chat.example.org:${port}`, Origin: "http://chat.example.org:9" })).status, 403, "another port is another origin");
  assert.is((await post("login\nh3\nx\n", { Origin: other })).status, 200, "servers.txt's other web URL");
});

/** The status line of the answer to a raw request (several lines, sent as written), or how the connection ended without one. */
function rawStatus(text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => (s.destroy(), resolve(`no answer: ${got}`)), 5000);
    s.on("data", (c: Uint8Array) => {
      got += new TextDecoder().decode(c);
      if (got.includes("\r\n")) (clearTimeout(timer), s.destroy(), resolve(got.slice(0, got.indexOf("\r\n"))));
    });
    s.on("error", () => {});
    s.on("close", () => (clearTimeout(timer), resolve(got ? got.split("\r\n")[0] : "closed")));
    s.write(text);
  });
}

test("issue 20 re-run: two Host headers, a Host list, an absolute-form target (even naming us) and `*` get 400, upgrades too; one Host of ours and a path pass", async () => {
  const ours = `127.0.0.1:${port}`;
  const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  const cases: [string, string][] = [
    ["two Host headers, ours first", `GET / HTTP/1.1\r\nHost: ${ours}\r\nHost: evil.example\r\n\r\n`],
    ["two Host headers, ours last", `GET / HTTP/1.1\r\nHost: evil.example\r\nHost: ${ours}\r\n\r\n`],
    ["a Host list", `GET / HTTP/1.1\r\nHost: ${ours}, evil.example\r\n\r\n`],
    ["absolute form naming another host", `GET http://evil.example/ HTTP/1.1\r\nHost: ${ours}\r\n\r\n`],
    ["absolute form naming us", `GET http://${ours}/ HTTP/1.1\r\nHost: ${ours}\r\n\r\n`],
    ["absolute-form POST /dc", `POST http://evil.example/dc HTTP/1.1\r\nHost: ${ours}\r\nX-DistChat-Client: ${PAGE_ID}\r\nContent-Length: 16\r\n\r\nlogin\nab1\nabsol\n`],
    ["asterisk form", `OPTIONS * HTTP/1.1\r\nHost: ${ours}\r\n\r\n`],
    ["absolute-form WebSocket upgrade", `GET http://evil.example/ws HTTP/1.1\r\nHost: ${ours}\r\n${upgrade}Origin: http://${ours}\r\n\r\n`],
    ["WebSocket upgrade with two Host headers", `GET /ws HTTP/1.1\r\nHost: ${ours}\r\nHost: evil.example\r\n${upgrade}\r\n`],
  ];
  for (const [what, text] of cases) assert.match(await rawStatus(text), /^HTTP\/1\.1 400 /, what);
  assert.match(await rawStatus(`GET / HTTP/1.1\r\nHost: ${ours}\r\n\r\n`), /^HTTP\/1\.1 200 /, "one Host of ours, a path");
  assert.match(await rawStatus(`GET /ws HTTP/1.1\r\nHost: ${ours}\r\n${upgrade}Origin: http://${ours}\r\n\r\n`), /^HTTP\/1\.1 101 /, "an upgrade of ours");
});

test("issue 22: every response carries CSP, Referrer-Policy, X-Frame-Options and nosniff", async () => {
  const ok = await post("login\ns1\nheaders\n");
  assert.is(ok.status, 200);
  secured(ok, "POST /dc 200");
  const noId = await rawGet(web, "/dc", { method: "POST", body: "login\ns2\nx\n" });
  assert.is(noId.status, 400);
  secured(noId, "POST /dc 400");
  const pre = await rawGet(web, "/dc", { method: "OPTIONS", headers: { Origin: other, "Access-Control-Request-Method": "POST" } });
  assert.is(pre.status, 204);
  secured(pre, "OPTIONS /dc");
  for (const [path, want] of [["/", 200], ["/nothing", 404], ["/metrics", 200]] as const) {
    const r = await rawGet(web, path);
    assert.is(r.status, want, path);
    secured(r, `GET ${path}`);
  }
  // A file revalidated by its ETag (the page's modules on a reload): 304, with the same headers.
  const core = await rawGet(web, "/lib/client/chat.ts");
  const again = await rawGet(web, "/lib/client/chat.ts", { headers: { "If-None-Match": String(core.headers.etag) } });
  assert.is(again.status, 304);
  assert.is(again.headers.etag, core.headers.etag);
  secured(again, "304");
  secured(await rawGet(web, "/", { method: "PUT" }), "405");
  secured(await post("login\ns3\nx\n", { Origin: "http://evil.example" }), "403");
  // Refused upgrades are written by hand on the socket: the same headers.
  for (const [o, want] of [[{ origin: "http://evil.example" }, 403], [{ path: "/elsewhere" }, 404], [{ host: "evil.example" }, 421]] as const) {
    const s = await rawWebSocket(web, o);
    assert.is(s.status, want, JSON.stringify(o));
    secured(s, `refused upgrade ${want}`);
    s.socket.destroy();
  }
});

test("row 14: /metrics only for --metrics-allow, a scrape a second each; the message count is kept; scrapers do not starve users", async () => {
  const denied = await rawGet(web, "/metrics", { localAddress: "127.0.0.2" });
  assert.is(denied.status, 403, "127.0.0.2 is not in 127.0.0.1/32");
  // Messages counted as they come.
  const token = (await post("login\nm1\ncounter\n")).body.split("\n")[4];
  await post(`open\nm2\n${token}\ncounted\n`);
  for (let i = 0; i < 7; i++) assert.match((await post(`add\nm${3 + i}\n${token}\nline ${i}\ncounted\n`)).body, /^ok\n/);
  await sleep(1100);
  const scrape = await rawGet(web, "/metrics");
  assert.is(scrape.status, 200);
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(scrape.body)?.[1]);
  assert.ok(value("distchat_messages_stored") >= 7, scrape.body.slice(0, 200));
  const stored = value("distchat_messages_stored");
  assert.ok(value("distchat_rooms") >= 1);
  // Four scrapers on 127.0.0.1–5 as fast as they can for two seconds: the allowed one gets a burst, then 429.
  const codes = new Map<number, number>();
  const until = Date.now() + 2000;
  const scraper = async (from: string) => {
    while (Date.now() < until) {
      const r = await rawGet(web, "/metrics", { localAddress: from });
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      if (r.status === 429) assert.is(r.headers["retry-after"], "1");
    }
  };
  const [served] = await Promise.all([legitServed(srv, "127.0.0.200"), ...["127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"].map(scraper)]);
  assert.equal(served, { page: "200", ws: "ok", udp: "ok" }, "a user is served meanwhile");
  assert.ok((codes.get(200) ?? 0) <= 5 + 3, `scrapes served: ${JSON.stringify([...codes])}`);
  assert.ok((codes.get(429) ?? 0) > 0 && (codes.get(403) ?? 0) > 0, JSON.stringify([...codes]));
  await post(`add\nm20\n${token}\none more\ncounted\n`);
  await sleep(1100);
  const after = await rawGet(web, "/metrics");
  assert.is(Number(/^distchat_messages_stored (\d+)$/m.exec(after.body)?.[1]), stored + 1);
  assert.match(after.body, /distchat_web_requests_total\{kind="metrics-limited"\} [1-9]/);
  assert.match(after.body, /distchat_web_requests_total\{kind="metrics-refused"\} [1-9]/);
});

test.run();
