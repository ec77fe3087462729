/**
 * The web transport, black-box over real HTTP and HTTPS (docs/PROTOCOL.md
 * "Web transport"): every verb and its errors as the body of `POST /dc`, a
 * session shared with a UDP client, held long polls, cross-site refusals,
 * size limits, security headers, the served files, `/metrics` parsed by a
 * Prometheus text-format parser, and TLS with a self-signed pair made now.
 * And the client core's own web transport (lib/client/web_transport.ts) in
 * this runtime, over a WebSocket and over POST /dc.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import parsePrometheus from "parse-prometheus-text-format";
import { decodeReply } from "../lib/wire/codec.ts";
import { freeTcpPort, lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { Connection } from "../lib/client/connection.ts";
import { Session } from "../lib/client/session.ts";
import { webTransport } from "../lib/client/web_transport.ts";
import { until } from "./_client_proc.ts";

type Res = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** One HTTP(S) request; `ca` trusts a self-signed certificate. */
function fetchText(url: string, o: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; ca?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const req = lib.request(u, { method: o.method ?? "GET", headers: o.headers, ca: o.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

const PAGE_ID = "test-page-0123456789";
let srv: ServerHandle;
let web: string;
let tagNo = 0;
const tag = () => `w${++tagNo}`;

/** A datagram over the web transport: the reply text (status 200 expected). */
async function dc(text: string | Uint8Array, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetchText(`${web}/dc`, { method: "POST", body: text, headers: { "X-DistChat-Client": PAGE_ID, ...headers } });
  assert.is(r.status, 200, `${r.status} ${r.body}`);
  const d = decodeReply(new TextEncoder().encode(r.body));
  assert.ok(d.ok, `reply decodes: ${r.body}`);
  return r.body;
}
const field = (reply: string, i: number) => reply.split("\n")[i];

test.before(async () => {
  const { file } = await makeCluster(["a", "b"], tempDir(), { web: "http" });
  const entry = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("a "))!;
  const at = new URL(entry.split(" ")[3]);
  srv = await startServer({ id: "a", servers: file, extraArgs: ["--web", `${at.hostname}:${at.port}`, "--one-disk-acks"] });
  web = srv.web!;
});
test.after(async () => {
  await srv?.stop();
  removeTempDirs();
});

test("every verb over the web transport; a token works on UDP too, and back", async () => {
  const login = await dc(lines("login", tag(), "webby"));
  assert.is(field(login, 2), "login");
  const token = field(login, 4);
  assert.is(field(await dc(lines("open", tag(), token, "Web")), 2), "open");
  const add = await dc(lines("add", tag(), token, "from the web", "web"));
  assert.is(field(add, 3), "from the web");
  const poll = await dc(lines("request", tag(), token, "web", "0"));
  assert.is(field(poll, 0), "poll");
  assert.is(field(poll, 5), "1", "one entry");
  const hist = await dc(lines("history", tag(), token, "web", 10));
  assert.equal(hist.split("\n").slice(0, 3), ["ok", hist.split("\n")[1], "history"]);
  assert.is(field(await dc(lines("who", tag(), token, "web")), 6), "webby");
  assert.ok((await dc(lines("rooms", tag(), token))).split("\n").includes("Web"));
  // The same session over UDP: it sees the web line and adds one the web sees.
  const u = await udpClient();
  try {
    const viaUdp = await u.request(srv.clientAddr, lines("request", tag(), token, "web", "0"));
    assert.ok(viaUdp.includes("from the web"), viaUdp);
    const bob = field(await u.request(srv.clientAddr, lines("login", tag(), "udpbob")), 4);
    await u.request(srv.clientAddr, lines("connect", tag(), bob, "web"));
    await u.request(srv.clientAddr, lines("add", tag(), bob, "from udp", "web"));
    // bob's UDP token works over the web too.
    assert.ok((await dc(lines("request", tag(), bob, "web", "0"))).includes("from udp"));
  } finally {
    await u.close();
  }
  assert.is(field(await dc(lines("leave", tag(), token, "web")), 2), "leave");
  assert.is(field(await dc(lines("logout", tag(), token)), 2), "logout");
  assert.is(field(await dc(lines("rooms", tag(), token)), 2), "bad-token");
});

/** A WebSocket to the web listener: `ask` sends a datagram and resolves with the reply of its tag. */
async function socket(url = web) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
  const waiting = new Map<string, (t: string) => void>();
  const all: string[] = [];
  ws.onmessage = (e) => {
    const text = String(e.data);
    all.push(text);
    waiting.get(text.split("\n", 2)[1])?.(text);
  };
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  const ask = (text: string) => new Promise<string>((resolve) => (waiting.set(text.split("\n", 2)[1], resolve), ws.send(text)));
  return { ws, ask, all };
}

test("WebSocket: every verb, held polls woken by a UDP add, resends answered alike, malformed input", async () => {
  const s = await socket();
  try {
    const t = tag();
    const login = await s.ask(lines("login", t, "socketeer"));
    assert.is(await s.ask(lines("login", t, "socketeer")), login, "a resend on the same socket gets the same token");
    const token = field(login, 4);
    await s.ask(lines("open", tag(), token, "sockroom"));
    const cursor = field(await s.ask(lines("history", tag(), token, "sockroom", 5)), 4);
    const held = s.ask(lines("request", tag(), token, "sockroom", cursor, 10_000));
    const u = await udpClient();
    try {
      const other = field(await u.request(srv.clientAddr, lines("login", tag(), "udpwaker")), 4);
      await u.request(srv.clientAddr, lines("connect", tag(), other, "sockroom"));
      await u.request(srv.clientAddr, lines("add", tag(), other, "over udp", "sockroom"));
    } finally {
      await u.close();
    }
    assert.ok((await held).includes("over udp"));
    assert.is(field(await s.ask(lines("who", tag(), token, "sockroom")), 2), "who");
    assert.is(field(await s.ask(lines("leave", tag(), token, "sockroom")), 2), "leave");
    s.ws.send("garbage");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(s.all.some((m) => m.startsWith("error\n-\nbad-request\n")), s.all.join("|"));
    // One message past the limit: the connection is closed (1009).
    const closed = new Promise<number>((r) => (s.ws.onclose = (e) => r(e.code)));
    s.ws.send("x".repeat(9000));
    assert.is(await closed, 1009);
  } finally {
    s.ws.close();
  }
});

test("WebSocket: cross-site upgrades and other paths are refused", async () => {
  const upgrade = (path: string, origin?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(`${web}${path}`, {
        headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", ...(origin ? { Origin: origin } : {}) },
      });
      req.on("upgrade", (res, sock) => (sock.destroy(), resolve(res.statusCode ?? 0)));
      req.on("response", (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.on("error", reject);
      req.end();
    });
  assert.is(await upgrade("/ws", "http://evil.example"), 403);
  assert.is(await upgrade("/elsewhere"), 404);
  assert.is(await upgrade("/ws", web), 101);
});

test("errors: malformed, bad names, too large; bodies past the limit are refused; a resend gets the same answer", async () => {
  assert.is(field(await dc("garbage"), 2), "bad-request");
  assert.is(field(await dc(lines("login", tag(), "-bad")), 2), "bad-name");
  const big = lines("login", tag(), "x".repeat(8200));
  assert.is(field(await dc(big.slice(0, 8193)), 2), "too-large");
  const huge = await fetchText(`${web}/dc`, { method: "POST", body: "x".repeat(100_000), headers: { "X-DistChat-Client": PAGE_ID } });
  assert.is(huge.status, 413);
  // A resend (same page, same tag) is answered as before: one session.
  const t = tag();
  const first = await dc(lines("login", t, "resender"));
  assert.is(await dc(lines("login", t, "resender")), first);
  const noId = await fetchText(`${web}/dc`, { method: "POST", body: lines("login", tag(), "x") });
  assert.is(noId.status, 400);
});

test("every error code a client can cause comes back over the web transport", async () => {
  const t1 = field(await dc(lines("login", tag(), "errs")), 4);
  assert.is(field(await dc(lines("login", tag(), "ERRS")), 2), "name-taken");
  assert.is(field(await dc(lines("connect", tag(), t1, "nowhere")), 2), "no-room");
  await dc(lines("open", tag(), t1, "errs-room"));
  assert.is(field(await dc(lines("open", tag(), t1, "errs-room")), 2), "room-exists");
  const t2 = field(await dc(lines("login", tag(), "errs2")), 4);
  assert.is(field(await dc(lines("add", tag(), t2, "hi", "errs-room")), 2), "not-member");
  assert.is(field(await dc(lines("history", tag(), t1, "errs-room", 5, "zz.1")), 2), "no-message");
  assert.is(field(await dc(lines("rooms", tag(), "A".repeat(43))), 2), "bad-token");
});

test("the client core's web transport in this runtime: a session over a WebSocket, then over POST /dc", async () => {
  for (const webSocket of [true, false]) {
    const via = webSocket ? "websocket" : "http";
    const seen: string[] = [];
    const ui = { message: (_r: string, e: { userName: string; msg: string }) => seen.push(`${e.userName}: ${e.msg}`), notice() {}, error: (t: string) => seen.push(`error ${t}`), output() {} };
    const conn = await Connection.open({ servers: [{ id: "a", web }], transport: webTransport({ webSocket }) });
    const s = new Session(conn, ui, { userName: `core-${via}`, waitMs: 2000, dmsEveryMs: 0 });
    try {
      await s.login();
      assert.ok(await s.join("coreweb"));
      s.say(`over ${via}`);
      await until(`the line over ${via}`, () => seen.includes(`core-${via}: over ${via}`));
      assert.is(conn.via, via);
      assert.not.ok(seen.some((l) => l.startsWith("error")), seen.join("\n"));
    } finally {
      await s.logout(2000);
      await conn.close();
    }
  }
});

test("rate-limited and unavailable over the web transport", async () => {
  const { file } = await makeCluster(["r"], tempDir(), { web: "http" });
  const at = new URL(readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("r "))!.split(" ")[3]);
  const s = await startServer({ id: "r", servers: file, extraArgs: ["--web", `${at.hostname}:${at.port}`, "--rate-limit", "2"] });
  const other = await makeCluster(["f"], tempDir());
  const full = await startServer({ id: "f", servers: other.file, extraArgs: ["--web", `127.0.0.1:${await freeTcpPort()}`, "--min-free-mb", "999999999"] });
  try {
    // Past the limit one request a second is told; the rest get no answer (204 once the server gives up on them).
    const sends = Array.from({ length: 8 }, (_, i) =>
      Promise.race([
        fetchText(`${s.web}/dc`, { method: "POST", body: lines("login", `rl${i}`, `limited${i}`), headers: { "X-DistChat-Client": PAGE_ID } }).then((r) => r.body),
        new Promise<string>((r) => setTimeout(r, 2000, "")),
      ])
    );
    const codes = (await Promise.all(sends)).map((b) => b.split("\n")[2]).filter(Boolean);
    assert.ok(codes.includes("rate-limited"), codes.join(" "));
    const r = await fetchText(`${full.web}/dc`, { method: "POST", body: lines("login", tag(), "nospace"), headers: { "X-DistChat-Client": PAGE_ID } });
    assert.is(field(r.body, 2), "unavailable");
  } finally {
    await s.stop();
    await full.stop();
  }
});

test("a long poll is a held response, answered when a message comes", async () => {
  const token = field(await dc(lines("login", tag(), "waiter")), 4);
  await dc(lines("open", tag(), token, "hold"));
  const cursor = field(await dc(lines("history", tag(), token, "hold", 5)), 4);
  const t0 = Date.now();
  const held = dc(lines("request", tag(), token, "hold", cursor, 10_000));
  await new Promise((r) => setTimeout(r, 300));
  const other = field(await dc(lines("login", tag(), "poster")), 4);
  await dc(lines("connect", tag(), other, "hold"));
  await dc(lines("add", tag(), other, "wake up", "hold"));
  const reply = await held;
  assert.ok(reply.includes("wake up"), reply);
  assert.ok(Date.now() - t0 < 5000, "answered when the message came, not at the deadline");
});

test("cross-site requests are refused; servers.txt origins pass the preflight", async () => {
  const evil = await fetchText(`${web}/dc`, { method: "POST", body: lines("login", tag(), "x"), headers: { "X-DistChat-Client": PAGE_ID, Origin: "http://evil.example" } });
  assert.is(evil.status, 403);
  const b = readFileSync(srv.servers, "utf8").split("\n").find((l) => l.startsWith("b "))!.split(" ")[3];
  const pre = await fetchText(`${web}/dc`, { method: "OPTIONS", headers: { Origin: b, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-distchat-client" } });
  assert.is(pre.status, 204);
  assert.is(pre.headers["access-control-allow-origin"], b);
  assert.match(String(pre.headers["access-control-allow-headers"]), /X-DistChat-Client/i);
  const same = await fetchText(`${web}/dc`, { method: "POST", body: lines("login", tag(), "samesite"), headers: { "X-DistChat-Client": PAGE_ID, Origin: web } });
  assert.is(same.status, 200);
});

test("the page and its files, with security headers; nothing else is served", async () => {
  const page = await fetchText(`${web}/`);
  assert.is(page.status, 200);
  assert.match(page.body, /<title>DistChat<\/title>/);
  const csp = String(page.headers["content-security-policy"]);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.is(page.headers["x-content-type-options"], "nosniff");
  for (const f of ["/app.js", "/style.css", "/favicon.svg", "/ui/chat.js", "/lib/client/chat.ts", "/lib/wire/codec.ts", "/lib/accounts/work.ts", "/vendor/preact/dist/preact.mjs", "/vendor/@noble/hashes/scrypt.js"]) {
    assert.is((await fetchText(`${web}${f}`)).status, 200, f);
  }
  // The core is served as JavaScript: types stripped, package imports pointing at /vendor; revalidated by its ETag.
  const core = await fetchText(`${web}/lib/client/chat.ts`);
  assert.match(String(core.headers.etag), /^"[A-Za-z0-9_-]{22}"$/);
  assert.is((await fetchText(`${web}/lib/client/chat.ts`, { headers: { "If-None-Match": String(core.headers.etag) } })).status, 304);
  assert.match(String(core.headers["content-type"]), /^text\/javascript/);
  assert.not.match(core.body, /import type|#ui: ChatUi;/);
  assert.match((await fetchText(`${web}/lib/wire/_schemas.ts`)).body, /from "\/vendor\/valibot\/dist\/index\.mjs"/);
  // Only what the page imports: not the server, not the terminal, not the rest of the tree.
  for (const f of ["/lib/server/chat.ts", "/lib/client/terminal.ts", "/lib/client/known_keys.ts", "/vendor/@noble/hashes/package.json", "/vendor/uvu/dist/index.mjs",
    "/vendor/noble-hashes/../package.json", "/../server.ts", "/etc/passwd", "/web/app.js", "/lib/../server.ts", "/tests/run.ts"]) {
    assert.is((await fetchText(`${web}${f}`)).status, 404, f);
  }
  const servers = JSON.parse((await fetchText(`${web}/servers.json`)).body);
  assert.equal(servers.servers.map((s: { id: string }) => s.id), ["a", "b"]);
});

test("/metrics is Prometheus text: requests by verb, errors by code, acks and their latency, peers, password guessing", async () => {
  // A wrong password (SCRAM proof for a challenge of a name that is not registered) is counted.
  const s = await socket();
  try {
    const first = await s.ask(lines("auth", tag(), "guessed", "abcdefghijklmnopqrst"));
    const nonce = /r=([^,]*)/.exec(field(first, 4))![1];
    assert.match(await s.ask(lines("login", tag(), "guessed", `c=biws,r=${nonce},p=${"A".repeat(43)}=`)), /^error\n\w+\nbad-password\n/);
  } finally {
    s.ws.close();
  }
  const r = await fetchText(`${web}/metrics`);
  assert.is(r.status, 200);
  assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(r.body) as { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[] }[];
  const fam = (n: string) => families.find((f) => f.name === n);
  const value = (n: string, labels: Record<string, string> = {}) =>
    Number(fam(n)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
  assert.ok(value("distchat_requests_total", { verb: "login" }) >= 5);
  assert.ok(value("distchat_errors_total", { code: "bad-request" }) >= 1);
  assert.ok(value("distchat_adds_acked_total") >= 3);
  const hist = fam("distchat_ack_latency_seconds");
  assert.is(hist?.type, "HISTOGRAM");
  assert.ok(Number(hist?.metrics[0].count) >= 3);
  assert.ok(value("distchat_sessions") >= 1);
  assert.ok(value("distchat_rooms") >= 2);
  assert.ok(value("distchat_messages_stored") >= 3);
  assert.is(value("distchat_peer_up", { peer: "b" }), 0, "b never ran");
  assert.ok(fam("distchat_peer_ops_behind"));
  assert.ok(fam("distchat_held_polls"));
  assert.ok(value("distchat_password_failures_total") >= 1);
  assert.is(fam("distchat_password_lockouts_total")?.type, "COUNTER");
});

test("HTTPS with --tls-cert and --tls-key: the page and the transport", async () => {
  const dir = tempDir("distchat-tls-");
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { encoding: "utf8" });
  assert.is(made.status, 0, made.stderr);
  const { file } = await makeCluster(["t"], dir, { web: "https" });
  const at = new URL(readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("t "))!.split(" ")[3]);
  const s = await startServer({ id: "t", servers: file, extraArgs: ["--web", `${at.hostname}:${at.port}`, "--tls-cert", cert, "--tls-key", key] });
  try {
    assert.ok(s.web?.startsWith("https://"), String(s.web));
    const ca = readFileSync(cert, "utf8");
    const page = await fetchText(`${s.web}/`, { ca });
    assert.is(page.status, 200);
    assert.match(String(page.headers["strict-transport-security"]), /max-age=/);
    const login = await fetchText(`${s.web}/dc`, { method: "POST", body: lines("login", tag(), "secure"), headers: { "X-DistChat-Client": PAGE_ID }, ca });
    assert.is(login.status, 200);
    assert.is(field(login.body, 2), "login");
    const untrusted = await fetchText(`${s.web}/`).then(() => "trusted", (e: Error) => e.message);
    assert.is.not(untrusted, "trusted", "a self-signed certificate is not trusted without it");
  } finally {
    await s.stop();
  }
});

test.run();
