/**
 * Sealed rooms in the client (issue 4): first the Keyring (what is sent,
 * what is shown) with a fast key derivation, and the hidden passphrase
 * prompt of the terminal on a fake TTY; then client.ts end to end against a
 * real server behind a capturing UDP proxy — plaintext must be absent from
 * every datagram and from the database, placeholders for clients without
 * (or with the wrong) passphrase, a flipped byte in the stored text shows
 * as tampered, and session tokens are stored only as hashes.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "uvu";
import { flipFirstSealedText } from "./_tamper.ts";
import { fakeTty } from "./_fake_tty.ts";
import * as assert from "uvu/assert";
import { Keyring, placeholder } from "../lib/client/keyring.ts";
import { openTerminal } from "../lib/client/terminal.ts";
import { parseKeyFile } from "../lib/client/key_file.ts";
import type { PollEntry } from "../lib/wire/messages.ts";
import { MAX_MSG_BYTES } from "../lib/wire/messages.ts";
import { MAX_PLAIN_BYTES, RoomKeys } from "../lib/client/seal.ts";
import { startUdpProxy } from "../testing/udp_proxy.ts";
import type { UdpProxy } from "../testing/udp_proxy.ts";
import { freePort, makeCluster, removeTempDirs, startServer, tempDir } from "../testing/harness.ts";
import type { ServerHandle } from "../testing/harness.ts";
import { dbFileBytes } from "../testing/db_files.ts";
import { startClient, until } from "./_client_proc.ts";
import { ChatClient, type ChatUi } from "../lib/client/chat.ts";
import { keyMemory } from "../lib/client/social.ts";
import { udpTransport } from "../lib/client/udp_transport.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { readServers } from "../lib/config/servers_file.ts";
import type { ClientProc } from "./_client_proc.ts";

// --- Keyring, with a fast key derivation ---------------------------------------

/** A stand-in for scrypt: deterministic, instant. */
const fastKdf = (passphrase: string, salt: Uint8Array) =>
  Promise.resolve(new Uint8Array(createHash("sha256").update(passphrase).update(salt).digest()));
const ring = (file: string | null = null) =>
  new Keyring({ keys: new RoomKeys({ kdf: fastKdf }), file: file === null ? null : parseKeyFile(file, "keys.txt") });
let n = 0;
const entry = (userName: string, msg: string): PollEntry => ({ msgId: { origin: "a", n: ++n }, userName, sentAt: 0, msg });
const pipe = { tty: false };

/** What `sender`'s keyring sends for `text` to `room`; fails the test if refused. */
async function send(k: Keyring, room: string, sender: string, text: string): Promise<string> {
  const out = await k.outgoing(room, sender, text);
  if (!out.ok) throw new Error(out.message);
  return out.text;
}

test("keyring: a room with a passphrase gets sealed text; the same passphrase opens it", async () => {
  const alice = ring(), bob = ring();
  await alice.set("lobby", "correct horse");
  await bob.set("LOBBY", "correct horse");
  const out = await alice.outgoing("lobby", "alice", "meet at noon");
  assert.ok(out.ok && out.sealed);
  const wire = (out as { text: string }).text;
  assert.match(wire, /^dc1:[A-Za-z0-9_-]+$/);
  assert.not.match(wire, /noon/);
  assert.equal(await bob.view("Lobby", entry("Alice", wire), pipe), { kind: "sealed", text: "meet at noon" });
  assert.equal(await alice.view("lobby", entry("alice", wire), pipe), { kind: "sealed", text: "meet at noon" });
  // A room without a passphrase: sent as typed.
  assert.equal(await alice.outgoing("annex", "alice", "hi"), { ok: true, text: "hi", sealed: false });
});

test("keyring: no passphrase, a wrong one, an altered text, another sender: placeholders, never the text", async () => {
  const alice = ring(), wrong = ring(), none = ring();
  await alice.set("lobby", "right");
  await wrong.set("lobby", "wrong");
  const wire = await send(alice, "lobby", "alice", "secret words");
  const v1 = await none.view("lobby", entry("alice", wire), { tty: true });
  assert.equal(v1, { kind: "locked", text: "[sealed message: no passphrase for this room; /key lobby]" });
  const v2 = await none.view("lobby", entry("alice", wire), pipe);
  assert.equal(v2, { kind: "locked", text: "[sealed message: no passphrase for this room; give one with --key-file]" });
  const v3 = await wrong.view("lobby", entry("alice", wire), pipe);
  assert.equal(v3.kind, "locked");
  assert.match(v3.text, /^\[sealed message: wrong passphrase/);
  const at = 4 + 48 + 3; // inside the ciphertext
  const flipped = wire.slice(0, at) + (wire[at] === "A" ? "B" : "A") + wire.slice(at + 1);
  const v4 = await alice.view("lobby", entry("alice", flipped), pipe);
  assert.equal(v4.kind, "tampered");
  assert.match(v4.text, /^\[tampered sealed message/);
  assert.equal((await alice.view("lobby", entry("mallory", wire), pipe)).kind, "tampered", "bound to the sender");
  assert.equal((await alice.view("annex", entry("alice", wire), pipe)).kind, "locked", "another room has no passphrase");
  for (const v of [v1, v2, v3, v4]) assert.not.match(v.text, /secret/);
  assert.match(placeholder({ kind: "locked", reason: "unsupported-version" }, "lobby", false), /newer format/);
});

test("keyring: the plaintext limit is checked before sending, with a clear message", async () => {
  const k = ring();
  await k.set("lobby", "pw");
  const max = await send(k, "lobby", "alice", "x".repeat(MAX_PLAIN_BYTES));
  assert.ok(Buffer.byteLength(max) <= MAX_MSG_BYTES, "the longest sealed text fits a msg");
  const over = await k.outgoing("lobby", "alice", "x".repeat(MAX_PLAIN_BYTES + 1));
  assert.equal(over, {
    ok: false,
    message: `message not sent: it is 1446 bytes; a sealed message holds at most 1445 bytes (UTF-8), and lobby has a passphrase`,
  });
  const emoji = await k.outgoing("lobby", "alice", "🔒".repeat(362)); // 1448 bytes
  assert.ok(!emoji.ok && /1448 bytes/.test(emoji.message));
  assert.ok((await k.outgoing("annex", "alice", "x".repeat(MAX_PLAIN_BYTES + 1))).ok, "no such limit in a plain room");
});

test("keyring: a plain text shaped like a sealed one is refused; plain texts are marked where they could mislead", async () => {
  const k = ring();
  const refused = await k.outgoing("annex", "bob", "dc1:abcd");
  assert.ok(!refused.ok && /form of a sealed message/.test(refused.message));
  assert.ok((await k.outgoing("annex", "bob", "dc1: abcd")).ok);
  assert.equal(await k.view("annex", entry("bob", "hello"), pipe), { kind: "plain", text: "hello", marked: false });
  assert.equal(await k.view("annex", entry("bob", "[sealed] fake"), pipe), { kind: "plain", text: "[sealed] fake", marked: true });
  assert.equal(await k.view("annex", entry("bob", "🔒 fake"), pipe), { kind: "plain", text: "🔒 fake", marked: true });
  await k.set("lobby", "pw");
  assert.equal(await k.view("lobby", entry("bob", "unsealed"), pipe), { kind: "plain", text: "unsealed", marked: true });
});

test("keyring: key file passphrases on first use; one derivation per salt; /unkey keeps them forgotten", async () => {
  const k = ring("lobby  two words\n* fallback\n");
  assert.is(k.derivations, 0, "nothing derived before a room is used");
  assert.ok(k.has("Lobby"));
  assert.ok(k.has("anything"));
  const other = ring("* two words\n");
  const wires = await Promise.all(Array.from({ length: 50 }, (_, i) => send(other, "lobby", "carol", `m${i}`)));
  const before = k.derivations;
  for (const [i, w] of wires.entries()) assert.equal(await k.view("lobby", entry("carol", w), pipe), { kind: "sealed", text: `m${i}` });
  assert.is(k.derivations - before, 2, "the key file's passphrase on first use, and carol's salt once for 50 messages");
  assert.ok(k.forget("lobby"));
  assert.not.ok(k.has("lobby"), "the key file's passphrase does not come back");
  assert.equal((await k.view("lobby", entry("carol", wires[0]), pipe)).kind, "locked");
  assert.not.ok(k.forget("lobby"), "nothing left to forget");
  assert.is(await k.set("lobby", "two words"), "set");
  assert.is(await k.set("lobby", "two words"), "unchanged");
  assert.is(await k.set("lobby", "three words now"), "changed");
  assert.equal((await k.view("lobby", entry("carol", wires[0]), pipe)).kind, "locked", "carol still uses the old one");
});

// --- The hidden prompt, on a fake terminal (tests/_fake_tty.ts) ----------------------------------------

test("terminal: a passphrase is read without echo; readline gets the next lines; output waits meanwhile", async () => {
  const input = fakeTty();
  const output = Object.assign(new PassThrough(), { columns: 80 });
  let shown = "";
  output.setEncoding("utf8").on("data", (d: string) => (shown += d));
  const term = openTerminal({ input, output, errors: output, tty: true, color: false });
  const lines: string[] = [];
  term.onLine((l) => void lines.push(l), () => {});
  term.currentRoom("lobby", true);
  try {
    const secret = term.readSecret("Passphrase for lobby (not shown): ");
    await new Promise((r) => setTimeout(r, 10));
    term.message("lobby", entry("bob", "during"), { kind: "plain", text: "during" });
    await new Promise((r) => setTimeout(r, 10));
    assert.not.match(shown, /during/, "held while the passphrase is typed");
    input.write("hunter2 x\x7f\r");
    assert.is(await secret, "hunter2 ");
    await until("held line shown", () => /bob: during/.test(shown), 2000);
    assert.not.match(shown, /hunter2/, "never echoed");
    assert.match(shown, /Passphrase for lobby \(not shown\): /);
    assert.match(shown, /🔒 lobby> /, "the prompt shows the room is sealed");
    input.write("hello\r");
    await until("readline line", () => lines.length > 0, 2000);
    assert.equal(lines, ["hello"]);
    const cancelled = term.readSecret("Passphrase: ");
    await new Promise((r) => setTimeout(r, 10));
    input.write("abc\x03");
    await cancelled.then(() => assert.unreachable("Ctrl-C cancels"), (e) => assert.match(e.message, /cancelled/));
    input.write("after\r");
    await until("readline after cancel", () => lines.length > 1, 2000);
    assert.equal(lines, ["hello", "after"]);
  } finally {
    term.close();
  }
  const pipeTerm = openTerminal({ input: new PassThrough(), output: new PassThrough(), errors: new PassThrough(), tty: false, color: false });
  await pipeTerm.readSecret("x").then(() => assert.unreachable("no terminal"), (e) => assert.match(e.message, /terminal/));
  pipeTerm.close();
});

// --- End to end: real server, capturing proxy, database ------------------------------

const WAIT = ["--wait-ms", "2000"];
const SECRET1 = "attack at dawn 7f3a";
const SECRET2 = "héllo wörld 🔒 retreat 9c1e";
const LONG = "longtext-".repeat(161).slice(0, MAX_PLAIN_BYTES); // exactly the limit
const PLAINTEXTS = [SECRET1, SECRET2, "longtext-longtext-"];

test("real server: sealed room end to end — wire and database hold no plaintext; placeholders; tampering shows", async () => {
  const dir = tempDir("distchat-sealed-");
  // The clients speak plaintext (--allow-plaintext, no key=): the wire then shows what sealing alone hides.
  const { file, entries } = await makeCluster(["a"], dir, { keys: false });
  const listen = `127.0.0.1:${await freePort()}`;
  const db = join(dir, "a.sqlite");
  const right = join(dir, "right.txt"), wrong = join(dir, "wrong.txt");
  writeFileSync(right, "# test keys\nlobby   correct horse battery staple\n");
  writeFileSync(wrong, "* not the passphrase at all\n");
  chmodSync(right, 0o600);
  chmodSync(wrong, 0o600);
  const captured: { bytes: Buffer; direction: string }[] = [];
  const clients: ClientProc[] = [];
  let srv: ServerHandle | null = null;
  let proxy: UdpProxy | null = null;
  const client = (user: string, ...args: string[]) => {
    const c = startClient(["--user", user, "--servers", file, "--room", "lobby", "--allow-plaintext", ...args, ...WAIT]);
    clients.push(c);
    return c;
  };
  try {
    proxy = await startUdpProxy({
      listen: entries[0].client,
      target: { host: "127.0.0.1", port: Number(listen.split(":")[1]) },
      onDatagram: (bytes, direction) => captured.push({ bytes: Buffer.from(bytes), direction }),
    });
    srv = await startServer({ id: "a", servers: file, db, extraArgs: ["--listen", listen] });

    // Two clients with the passphrase chat.
    const alice = client("alice", "--key-file", right);
    const bob = client("bob", "--key-file", right);
    for (const c of [alice, bob]) {
      await c.waitFor(/joined lobby|created lobby/);
      await c.waitFor(/lobby has a passphrase: messages you send there are sealed/);
    }
    alice.send(SECRET1);
    await bob.waitFor(/\[lobby\] alice: \[sealed\] attack at dawn 7f3a$/m);
    bob.send(SECRET2);
    await alice.waitFor(/\[lobby\] bob: \[sealed\] héllo wörld 🔒 retreat 9c1e$/m);
    alice.send("x".repeat(MAX_PLAIN_BYTES + 1));
    await alice.waitFor(/message not sent: it is 1446 bytes; a sealed message holds at most 1445 bytes/);
    alice.send(LONG);
    await bob.waitFor(/alice: \[sealed\] longtext-/);

    // Without the passphrase, and with a wrong one: placeholders, never the text.
    const carol = client("carol");
    const dave = client("dave", "--key-file", wrong);
    await carol.waitFor(/alice: \[sealed message: no passphrase for this room; give one with --key-file\]/);
    await dave.waitFor(/bob: \[sealed message: wrong passphrase/);
    await until("3 placeholders at dave", () => dave.messages().filter((l) => l.includes("wrong passphrase")).length === 3);
    carol.send("/key");
    await carol.waitFor(/\/key is refused: stdin is not a terminal.*--key-file FILE/);
    carol.send("carol says hi unsealed"); // the line after /key is a message, not a passphrase
    await alice.waitFor(/carol: \[plain\] carol says hi unsealed/);
    await carol.waitFor(/carol: carol says hi unsealed/);

    for (const c of [alice, bob, carol, dave]) assert.is(await c.end(), 0, c.err());
    assert.equal(bob.messages().slice(0, 2), [`[lobby] alice: [sealed] ${SECRET1}`, `[lobby] bob: [sealed] ${SECRET2}`]);
    assert.is(carol.messages().filter((l) => l.includes("[sealed message: no passphrase")).length, 3);
    assert.is(dave.messages().filter((l) => l.includes("[sealed message: wrong passphrase")).length, 3);
    for (const c of [carol, dave]) {
      for (const p of PLAINTEXTS) assert.not.ok(c.out().includes(p), `${p} in ${c.out()}`);
      assert.not.match(c.out(), /\[sealed\]/);
    }

    // Every datagram, both directions: no plaintext; sealed texts seen.
    assert.ok(captured.some((d) => d.direction === "forward") && captured.some((d) => d.direction === "back"));
    const wire = Buffer.concat(captured.map((d) => d.bytes));
    for (const p of PLAINTEXTS) assert.is(wire.indexOf(Buffer.from(p)), -1, `${p} on the wire`);
    assert.ok(wire.indexOf("dc1:") >= 0, "sealed texts on the wire");
    const tokens = captured
      .filter((d) => d.direction === "back")
      .map((d) => d.bytes.toString("utf8").split("\n"))
      .filter((l) => l[0] === "ok" && l[2] === "login")
      .map((l) => l[4]);
    assert.ok(new Set(tokens).size >= 4, `a token per client: ${tokens.length}`);

    // The database (and its WAL): no plaintext, no token; sealed texts and token hashes.
    const stored = dbFileBytes(db);
    for (const p of PLAINTEXTS) assert.is(stored.indexOf(Buffer.from(p)), -1, `${p} in the database`);
    assert.ok(stored.indexOf("dc1:") >= 0, "sealed texts in the database");
    for (const t of new Set(tokens)) {
      assert.is(stored.indexOf(t), -1, "a session token in the database");
      const hash = createHash("sha256").update(t).digest("hex");
      assert.ok(stored.indexOf(hash) >= 0, "its SHA-256 hex is");
    }

    // Flip one base64 character of alice's first sealed text, restart, look.
    await srv.stop();
    srv = null;
    flipFirstSealedText(db, "alice");
    srv = await startServer({ id: "a", servers: file, db, extraArgs: ["--listen", listen] });
    const erin = client("erin", "--key-file", right);
    await erin.waitFor(/bob: \[sealed\] héllo wörld/);
    await erin.waitFor(/alice: \[sealed\] longtext-/);
    assert.is(await erin.end(), 0, erin.err());
    const first = erin.messages()[0];
    assert.match(first, /^\[lobby\] alice: \[tampered sealed message: it failed its check/);
    assert.not.ok(erin.out().includes(SECRET1), "never the plaintext of an altered message");
  } finally {
    for (const c of clients) c.kill();
    await srv?.stop();
    await proxy?.close();
    removeTempDirs();
  }
});

test("real server: sealed lines that came before /key are shown again, opened, once the passphrase is given", async () => {
  const dir = tempDir("distchat-sealed-later-");
  const { file } = await makeCluster(["a"], dir);
  const keys = join(dir, "keys.txt");
  writeFileSync(keys, "later  the passphrase given later\n", { mode: 0o600 });
  const srv = await startServer({ id: "a", servers: file });
  const writer = startClient(["--user", "wanda", "--servers", file, "--room", "later", "--key-file", keys, ...WAIT]);
  const shown: string[] = [];
  let chat: ChatClient | null = null;
  try {
    await writer.waitFor(/created later|joined later/);
    writer.send("first secret");
    writer.send("second secret");
    await writer.waitFor(/wanda: \[sealed\] second secret/);
    const ui: ChatUi = {
      show: (room, e, view) => shown.push(`${room} ${e.userName}: ${view.text}`),
      notice: (t) => shown.push(`* ${t}`),
      error: (t) => shown.push(`! ${t}`),
      output: (t) => shown.push(`* ${t}`),
      askSecret: (ask) => Promise.resolve(ask.kind === "passphrase" ? "the passphrase given later" : null),
      hints: "command",
    };
    chat = await ChatClient.open({
      servers: readServers(file),
      transport: udpTransport((on) => bindUdp({ host: "127.0.0.1", port: 0 }, on)),
      ui,
      userName: "reader",
      waitMs: 2000,
      known: keyMemory(),
    });
    await chat.login();
    await chat.line("/join later");
    await until("both locked", () => shown.filter((l) => l.includes("[sealed message: no passphrase for this room; /key later]")).length === 2);
    assert.not.ok(shown.some((l) => l.includes("secret")), "nothing readable before the passphrase");
    await chat.line("/key");
    await until("both opened", () => shown.includes("later wanda: second secret"));
    const from = shown.indexOf("* --- 2 earlier sealed message(s) of later, opened ---");
    assert.ok(from >= 0, shown.join("\n"));
    assert.equal(shown.slice(from + 1, from + 4), ["later wanda: first secret", "later wanda: second secret", "* --- end of earlier sealed messages of later ---"]);
  } finally {
    await chat?.quit(1000);
    writer.kill();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
