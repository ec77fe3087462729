/**
 * The client core's conformance cases, run the same way under Node, under
 * Deno (tests/client_core_test.ts) and in Chromium (tests/web_ui_test.ts):
 * `runCoreCases(base, CORE_FIXTURES)` imports the core's modules from `base`
 * (a file: URL of the repository, or the web listener's origin, which serves
 * them types stripped) and checks them against the fixtures: the codec both
 * ways, names, base64, SCRAM (RFC 7677), the dc1 and dm1 seals (known answers
 * of the node:crypto implementations they replaced), the words, the feed,
 * commands, and a Connection and Session over an in-memory transport (a
 * failover; a password login that meets a proof of work).
 *
 * `runCoreCases` must stay self-contained (no imports, no outside names):
 * Playwright sends its source text to the page.
 */

/** The fixtures: plain data, the same for every runtime. */
export const CORE_FIXTURES = {
  requests: [
    { value: { verb: "login", tag: "1", userName: "bob" }, text: "login\n1\nbob\n" },
    { value: { verb: "add", tag: "7", token: "Qm9iLXNlc3Npb24tdG9rZW4", msg: "hi\nthere \\ ok", groupName: "lobby" }, text: "add\n7\nQm9iLXNlc3Npb24tdG9rZW4\nhi\\nthere \\\\ ok\nlobby\n" },
    { value: { verb: "logout", tag: "9", token: "Qm9iLXNlc3Npb24tdG9rZW4" }, text: "logout\n9\nQm9iLXNlc3Npb24tdG9rZW4\n" },
  ],
  replies: [
    { text: "poll\n12\nlobby\na=7,b=3\n0\n1\nb.3\nbob\n1733100000000\nhello\\\\world\n", json: '{"verb":"poll","tag":"12","groupName":"lobby","cursor":[["a",7],["b",3]],"more":false,"entries":[{"msgId":{"origin":"b","n":3},"userName":"bob","sentAt":1733100000000,"msg":"hello\\\\world"}]}' },
    { text: "ok\n4\nadd\nhello\nlobby\na.3\n", json: '{"verb":"ok","tag":"4","kind":"add","msg":"hello","groupName":"lobby","msgId":{"origin":"a","n":3}}' },
    { text: "error\n3\nnot-member\nyou are banned from annex\n", json: '{"verb":"error","tag":"3","code":"not-member","message":"you are banned from annex"}' },
  ],
  badReplies: ["poll\n12\nlobby\n0\n0\n2\nb.3\nbob\n1\nhi\n", "ok\n4\nadd\nhello\n", "hello"],
  scram: {
    password: "pencil",
    saltBase64: "W22ZaJ0SNY7soEsUEjb6gQ==",
    clientNonce: "rOprNGfwEbeRWgbNEkqO",
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    proof: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  },
  dc1: {
    passphrase: "correct horse battery staple",
    text: "héllo, wörld 🔒",
    sealed: "dc1:AAECAwQFBgcICQoLDA0OD8HAuWsjRdIYEBESExQVFhcYGRob_SZYxqj3gq8Xth-dGGuyH1K3NkkeE6FeisQpdpILuBChiF0",
  },
  dm1: {
    publicA: "+N9bFtYhJ04zxfKUzrIey384g15TnXKXOiYKMScBGBo=",
    publicB: "dJzIk9BSURNtLOlZS8XKZu5wH5MI0rpSaiT5n/uZSQs=",
    fingerprintA: "f2e2 da00 c1f5 eeed 0371",
    text: "hi bob, sealed ✓",
    sealed: "dm1.ZGVmZ2hpamtsbW5v.7QONnkJSyBUv3IJNPo1DQVGLUsqdYD1mQqJ0biqSdhU31w",
  },
  words: [
    { code: "not-member", message: "you are banned from annex", said: "you are banned from annex" },
    { code: "bad-password", message: "wrong user name or password (or the challenge expired: send auth again)", said: "wrong user name or password" },
    { code: "bad-request", message: "msg: message text must be 1 to 2000 bytes", said: "the server did not understand the request" },
  ],
  hebrew: "ש".repeat(1500),
};

export type CoreResult = { name: string; ok: boolean; detail: string };

/** Runs every case with the core's modules from `base`; one result per case, never throws. */
export async function runCoreCases(base: string, f: typeof CORE_FIXTURES): Promise<CoreResult[]> {
  // deno-lint-ignore no-explicit-any
  const load = (path: string): Promise<any> => import(`${base}/${path}`);
  const results: CoreResult[] = [];
  const check = async (name: string, body: () => Promise<string | true> | string | true) => {
    try {
      const r = await body();
      results.push({ name, ok: r === true, detail: r === true ? "" : r });
    } catch (e) {
      results.push({ name, ok: false, detail: `threw ${(e as Error).stack ?? e}` });
    }
  };
  const same = (a: unknown, b: unknown) => (a === b ? true : `got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
  const bytes = (s: string) => new TextEncoder().encode(s);
  const [codec, names, base64, scram, seal, dm, wording, feed, commands, connection, session, utf8, work] = await Promise.all([
    "lib/wire/codec.ts", "lib/wire/names.ts", "lib/wire/base64.ts", "lib/accounts/scram.ts", "lib/client/seal.ts",
    "lib/client/dm_seal.ts", "lib/client/wording.ts", "lib/client/feed.ts", "lib/client/commands.ts",
    "lib/client/connection.ts", "lib/client/session.ts", "lib/wire/utf8.ts", "lib/accounts/work.ts",
  ].map(load));
  const plain = (v: unknown) => JSON.stringify(v, (_k, x) => (x instanceof Map ? [...x] : x));

  await check("codec: requests encode to their wire text", () => {
    for (const r of f.requests) {
      const got = new TextDecoder().decode(codec.encodeRequest(r.value));
      if (got !== r.text) return same(got, r.text);
    }
    return true;
  });
  await check("codec: replies decode to their values", () => {
    for (const r of f.replies) {
      const got = codec.decodeReply(bytes(r.text));
      if (!got.ok || plain(got.value) !== r.json) return same(plain(got.ok ? got.value : got.error), r.json);
    }
    return true;
  });
  await check("codec: malformed replies are errors, not throws", () => {
    for (const t of f.badReplies) if (codec.decodeReply(bytes(t)).ok) return `${JSON.stringify(t)} decoded`;
    return true;
  });
  await check("names fold case the one way", () => same(`${names.nameKey("LoBby")} ${names.userNameProblem("no spaces") !== null}`, "lobby true"));
  await check("base64 decodes only canonical text", () => same(`${base64.fromBase64("AQJ=")} ${base64.toBase64(base64.fromBase64("AQI="))}`, "null AQI="));
  await check("UTF-8 bytes: 1500 Hebrew letters are 3000 bytes", () => same(utf8.utf8Length(f.hebrew), 3000));
  await check("SCRAM: the RFC 7677 exchange, message for message", async () => {
    const s = f.scram;
    const v = await scram.makeVerifier(s.password, base64.fromBase64(s.saltBase64), 4096);
    const c = scram.clientFirst("user", s.clientNonce);
    const first = scram.serverFirst(c.bare, s.serverNonce, v);
    const fin = await scram.clientFinal(s.password, c.bare, first.message);
    const ok = scram.verifyClientFinal(v, c.bare, first.message, fin.message);
    return same(`${fin.message} ${fin.serverSignature} ${ok.ok}`, `${s.proof} ${s.serverFinal} true`);
  });
  await check("dc1: fixed salt and nonce give the known sealed text; it opens", async () => {
    let n = 0;
    const keys = new seal.RoomKeys({ randomBytes: (k: number) => Uint8Array.from({ length: k }, () => n++ & 255) });
    await keys.setPassphrase("Lobby", f.dc1.passphrase);
    const sealed = keys.seal("Lobby", "Alice", f.dc1.text);
    const opened = await keys.open("lobby", "alice", f.dc1.sealed);
    const moved = await keys.open("lobby", "mallory", f.dc1.sealed);
    return same(`${sealed} ${opened.kind} ${opened.text} ${moved.kind}`, `${f.dc1.sealed} sealed ${f.dc1.text} tampered`);
  });
  await check("dm1: keys, fingerprint and sealed text are the known ones; either side opens", () => {
    const salted = (s: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + s) & 0xff);
    const a = dm.dmKeyPair(salted(1)), b = dm.dmKeyPair(salted(2));
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 100);
    const sealed = dm.sealDm(a, b.publicKey, "Alice", "bob", f.dm1.text, nonce);
    const opened = dm.openDm(b, a.publicKey, "alice", "BOB", f.dm1.sealed);
    const wrongWay = dm.openDm(b, a.publicKey, "bob", "alice", f.dm1.sealed);
    return same(
      `${a.publicKey} ${b.publicKey} ${dm.fingerprint(a.publicKey)} ${sealed} ${opened.text} ${wrongWay.ok}`,
      `${f.dm1.publicA} ${f.dm1.publicB} ${f.dm1.fingerprintA} ${f.dm1.sealed} ${f.dm1.text} false`,
    );
  });
  await check("errors in plain words", () => {
    for (const w of f.words) {
      const said = wording.describeError(w.code, w.message);
      if (said !== w.said) return same(said, w.said);
    }
    return same(wording.noticeText("bob", "\u0001kick eve spam"), "* bob kicked eve (spam)");
  });
  await check("feed: each message once, the cursor as sent", () => {
    const fd = new feed.RoomFeed();
    const reply = codec.decodeReply(bytes(f.replies[0].text)).value;
    const once = fd.accept(reply).length, again = fd.accept(reply).length;
    return same(`${once} ${again} ${plain(fd.cursor)}`, '1 0 [["a",7],["b",3]]');
  });
  await check("commands parse as in the terminal", () => same(plain([commands.parseLine("/join lobby"), commands.parseLine("//x")]), '[{"kind":"join","room":"lobby"},{"kind":"say","text":"/x"}]'));
  await check("Connection and Session over an in-memory transport: login, then failover to the second server", async () => {
    const servers = [{ id: "a" }, { id: "b" }];
    const heard: string[] = [];
    // Server a is dead; b answers logins and the probe.
    const transport = (list: { id: string }[], events: { datagram(b: Uint8Array, from: unknown): void }) =>
      Promise.resolve({
        send(datagram: Uint8Array, to: { id: string }) {
          if (to.id !== "b") return;
          const q = codec.decodeRequest(datagram);
          if (!q.ok) return;
          const r = q.value.verb === "login"
            ? { verb: "ok", tag: q.value.tag, kind: "login", userName: q.value.userName, token: "T".repeat(43), ttl: 300 }
            : { verb: "ok", tag: q.value.tag, kind: "rooms", more: false, names: [] };
          setTimeout(() => events.datagram(codec.encodeReply(r), list[1]), 1);
        },
        via: () => "memory",
        close: () => Promise.resolve(),
      });
    const conn = await connection.Connection.open({
      servers,
      transport,
      notice: (t: string) => heard.push(t),
      timing: { rtoMs: 10, maxRtoMs: 40, failoverSends: 2, pollGraceMs: 50, probeAfterMs: 0 },
    });
    const ui = { message() {}, notice: (t: string) => heard.push(t), error: (t: string) => heard.push(`error ${t}`), output() {} };
    const s = new session.Session(conn, ui, { userName: "bob", waitMs: 1000, dmsEveryMs: 0 });
    await s.login();
    const token = s.token;
    await conn.close();
    return same(`${conn.server.id} ${token?.length} ${heard.join(" | ")}`, "b 43 server a is not answering; reconnecting… | connected to b");
  });
  await check("Session: a password login of a name under attack solves the puzzle and says so while it lasts; a challenge from before the attack is asked again", async () => {
    const v = await scram.makeVerifier("pw", base64.fromBase64(f.scram.saltBase64), 4096);
    const said: string[] = [];
    let auths = 0;
    let challenge = { bare: "", first: "", bits: 0 };
    // One server; the name comes under attack between the first auth and its proof.
    const answer = (q: { verb: string; tag: string; userName: string; nonce?: string; proof?: string }) => {
      if (q.verb === "auth") {
        const bits = ++auths === 1 ? 0 : 8;
        const bare = `n=${q.userName},r=${q.nonce}`;
        challenge = { bare, first: scram.serverFirst(bare, "SERVERNONCE0123456789", v, bits).message, bits };
        return { verb: "ok", tag: q.tag, kind: "auth", userName: q.userName, serverFirst: challenge.first };
      }
      if (challenge.bits === 0) return { verb: "error", tag: q.tag, code: "rate-limited", message: "this name is being guessed at: send auth again" };
      const proof = q.proof ?? "";
      const ok = work.workDone(scram.parseClientFinal(proof)?.withoutProof ?? "", challenge.bits) && scram.verifyClientFinal(v, challenge.bare, challenge.first, proof);
      if (!ok || !ok.ok) return { verb: "error", tag: q.tag, code: "bad-password", message: "wrong user name or password" };
      return { verb: "ok", tag: q.tag, kind: "login", userName: q.userName, token: "T".repeat(43), ttl: 300, serverFinal: ok.serverFinal };
    };
    const transport = (list: { id: string }[], events: { datagram(b: Uint8Array, from: unknown): void }) =>
      Promise.resolve({
        send(datagram: Uint8Array) {
          const q = codec.decodeRequest(datagram);
          const r = q.ok && (q.value.verb === "auth" || q.value.verb === "login") ? answer(q.value) : q.ok ? { verb: "ok", tag: q.value.tag, kind: "rooms", more: false, names: [] } : null;
          if (r) setTimeout(() => events.datagram(codec.encodeReply(r), list[0]), 1);
        },
        via: () => "memory",
        close: () => Promise.resolve(),
      });
    const conn = await connection.Connection.open({ servers: [{ id: "a" }], transport, notice: (t: string) => said.push(t) });
    const ui = {
      message() {},
      notice: (t: string) => said.push(t),
      working: (t: string | null) => said.push(`working: ${t}`),
      error: (t: string) => said.push(`error ${t}`),
      output() {},
    };
    const s = new session.Session(conn, ui, { userName: "zed", password: "pw", waitMs: 1000, dmsEveryMs: 0 });
    await s.login();
    const token = s.token;
    await conn.close();
    return same(`${token?.length} ${auths} ${said.join(" | ")}`, `43 2 working: ${wording.puzzleWords("zed")} | working: null`);
  });
  return results;
}
