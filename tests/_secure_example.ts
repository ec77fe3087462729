/**
 * The worked examples of docs/PROTOCOL.md and docs/PEER_PROTOCOL.md
 * "Encrypted transport", made by lib/secure/ itself from fixed keys and
 * fixed "random" bytes (tests/secure_example_test.ts checks the documents
 * still hold them byte for byte; run this file to print them again:
 * `node tests/_secure_example.ts`).
 */
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { openCookieReply, sealInitiation } from "../lib/secure/cookie.ts";
import { type CookieReply, decodeEnvelope, type Initiation } from "../lib/secure/envelope.ts";
import { clientHandshake, serverClientHandshake } from "../lib/secure/handshake.ts";
import { encodeKey, peerPsk } from "../lib/secure/keys.ts";
import { PeerTransport } from "../lib/secure/peer_transport.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { keyPairFromPrivate, type KeyPair } from "../lib/secure/suite.ts";
import { hex, text } from "./_secure.ts";

/** 32 bytes `from`, `from + 1`, …. */
const run = (from: number, n = 32) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
/** Key pairs that can be handed out once each, in order. */
const keys = (...pairs: KeyPair[]) => () => {
  const p = pairs.shift();
  if (p === undefined) throw new Error("the example asked for one key pair more than it shows");
  return p;
};
/** "Random" bytes handed out in order; each draw must have the length the example says. */
function script(...draws: Uint8Array[]): (n: number) => Uint8Array {
  return (n) => {
    const d = draws.shift();
    if (d === undefined || d.length !== n) throw new Error(`the example draws ${n} random bytes where it shows ${d?.length}`);
    return d;
  };
}
const le32 = (i: number) => Uint8Array.of(i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, i >>> 24);

/** One line per field: name, then hex, wrapped at 32 bytes under the first. */
function fields(title: string, bytes: Uint8Array, layout: [name: string, length: number][]): string {
  const lines = [`${title} (${bytes.length} bytes):`];
  let at = 0;
  for (const [name, length] of layout) {
    const h = hex(bytes.subarray(at, length < 0 ? bytes.length : at + length));
    const rows = h.match(/.{1,64}/g) ?? [""];
    lines.push(`  ${name.padEnd(22)}${rows[0]}`, ...rows.slice(1).map((r) => " ".repeat(24) + r));
    at = length < 0 ? bytes.length : at + length;
  }
  if (at !== bytes.length) throw new Error(`${title}: the layout covers ${at} of ${bytes.length} bytes`);
  return lines.join("\n");
}

const CLIENT_INDEX = 0x0000002a, SERVER_INDEX = 0x01020304;
export const SERVER_PRIVATE = run(0x01);
export const CLIENT_EPHEMERAL = run(0x20);
export const SERVER_EPHEMERAL = run(0x41);
export const COOKIE_SECRET = new Uint8Array(32).fill(0x77);
export const COOKIE_NONCE = new Uint8Array(24).fill(0x88);
export const ADDRESS = "192.0.2.1:5000";
export const TOKEN = "VfS2ZcJ7qg3zLrX8nD1pWb4kYm6tHs0aEu9jQx5oCiN";

/** The client ↔ server example (docs/PROTOCOL.md). */
export function clientExample(): string {
  const server = keyPairFromPrivate(SERVER_PRIVATE);
  const clientE = keyPairFromPrivate(CLIENT_EPHEMERAL), serverE = keyPairFromPrivate(SERVER_EPHEMERAL);
  const t = new ServerTransport({ staticKey: server, random: script(COOKIE_SECRET, le32(SERVER_INDEX)), newKeyPair: keys(serverE), now: 0 });
  const c = new ClientTransport({ serverKey: server.publicKey, random: script(le32(CLIENT_INDEX)), newKeyPair: keys(clientE) });
  const [initiation] = c.seal(text("login\n1\nalice\n"), 0);
  const underLoad = new ServerTransport({ staticKey: server, random: script(COOKIE_SECRET, COOKIE_NONCE), newKeyPair: keys(), now: 0 });
  const cookie = underLoad.receive(initiation, ADDRESS, 0, true).send!;
  const response = t.receive(initiation, ADDRESS, 0).send!;
  const [login] = c.receive(response, 0).send;
  const r = t.receive(login.slice(), ADDRESS, 0); // a copy: receive opens a data datagram in place
  if (r.kind !== "data") throw new Error(r.kind);
  const reply = t.seal(r.session, text(`ok\n1\nlogin\nalice\n${TOKEN}\n300\n`), 0)!.bytes;
  const reset = new ServerTransport({ staticKey: server, random: script(COOKIE_SECRET), newKeyPair: keys(), now: 0 }).receive(login, ADDRESS, 0).send!;
  const head = (kind: string) => [["kind", 1], [kind, 4]] as [string, number][];
  return [
    `server static private key  ${hex(SERVER_PRIVATE)}`,
    `server static public key   ${hex(server.publicKey)}`,
    `servers.txt field          key=${encodeKey(server.publicKey)}`,
    `client ephemeral private   ${hex(CLIENT_EPHEMERAL)}`,
    `server ephemeral private   ${hex(SERVER_EPHEMERAL)}`,
    `client index ${CLIENT_INDEX}, server index ${SERVER_INDEX} (0x${SERVER_INDEX.toString(16).padStart(8, "0")})`,
    "",
    fields("initiation, client → server", initiation, [...head("sender index"), ["e", 32], ["sealed empty payload", 16], ["mac1", 16], ["mac2 (no cookie)", 16]]),
    "",
    fields("response, server → client", response, [...head("receiver index"), ["e", 32], ["sealed payload", 36]]),
    `  (the payload: server index ${hex(le32(SERVER_INDEX))}, reset token ${hex(resetTokenOf(reset))})`,
    "",
    ...splitKeys(server, clientE, serverE, Uint8Array.of(...le32(SERVER_INDEX), ...resetTokenOf(reset))),
    "",
    fields("data, client → server: login\\n1\\nalice\\n", login, [...head("receiver index"), ["counter", 8], ["sealed text", -1]]),
    "",
    fields(`data, server → client: ok\\n1\\nlogin\\nalice\\n${TOKEN.slice(0, 3)}…\\n300\\n`, reply, [...head("receiver index"), ["counter", 8], ["sealed text", -1]]),
    "",
    `Under load, from ${ADDRESS}, with the cookie secret 77…77 and the nonce 88…88:`,
    fields("cookie reply, server → client", cookie, [...head("receiver index"), ["nonce", 24], ["sealed cookie", 32]]),
    `  (the cookie: ${hex(cookieOf(server.publicKey, cookie, initiation))}; the initiation's mac2 with it: ${hex(mac2With(server.publicKey, cookie, initiation))})`,
    "",
    "The server restarted and lost the session; the login again gets:",
    fields("reset, server → client", reset, [...head("index"), ["reset token", 16]]),
  ].join("\n");
}

/** The server ↔ server example (docs/PEER_PROTOCOL.md). */
export function peerExample(): string {
  const a = keyPairFromPrivate(run(0x61)), b = keyPairFromPrivate(run(0x81));
  const aE = keyPairFromPrivate(run(0xa1)), bE = keyPairFromPrivate(run(0xc1));
  const cluster = text("example-cluster-key");
  const link = (selfId: string, staticKey: KeyPair, peer: string, peerKey: KeyPair, index: number, ephemeral: KeyPair) =>
    new PeerTransport({
      selfId,
      staticKey,
      peers: [{ id: peer, publicKey: peerKey.publicKey }],
      clusterKey: cluster,
      random: script(COOKIE_SECRET, le32(index)),
      newKeyPair: keys(ephemeral),
      now: 0,
    });
  const ta = link("a", a, "b", b, 7, aE), tb = link("b", b, "a", a, 9, bE);
  const [initiation] = ta.seal("b", text("ask\na\n-\n0\n-\n"), 0);
  const response = tb.receive(initiation, "127.0.0.1:7101", 0).toPeer[0];
  const [ask] = ta.receive(response, "127.0.0.1:7102", 0).toPeer;
  return [
    `a static private key       ${hex(run(0x61))}`,
    `a static public key        ${hex(a.publicKey)}`,
    `b static private key       ${hex(run(0x81))}`,
    `b static public key        ${hex(b.publicKey)}`,
    `a ephemeral private        ${hex(run(0xa1))}`,
    `b ephemeral private        ${hex(run(0xc1))}`,
    `cluster key file           example-cluster-key (its 19 bytes, no newline)`,
    `psk                        ${hex(peerPsk(cluster))}`,
    `a's index 7, b's index 9`,
    "",
    fields("peer initiation, a → b", initiation, [["kind", 1], ["sender index", 4], ["id length", 1], ["sender id", 1], ["e", 32], ["sealed empty payload", 16], ["mac1", 16], ["mac2 (no cookie)", 16]]),
    "",
    fields("response, b → a", response, [["kind", 1], ["receiver index", 4], ["e", 32], ["sealed payload", 36]]),
    "",
    fields("data, a → b: ask\\na\\n-\\n0\\n-\\n", ask, [["kind", 1], ["receiver index", 4], ["counter", 8], ["sealed text", -1]]),
  ].join("\n");
}

/** The handshake hash and the two keys Split() gives, from the same keys through lib/secure/noise.ts directly. */
function splitKeys(server: KeyPair, clientE: KeyPair, serverE: KeyPair, payload: Uint8Array): string[] {
  const i = clientHandshake(server.publicKey, keys(clientE)), r = serverClientHandshake(server, keys(serverE));
  r.readMessage(i.writeMessage(new Uint8Array(0)));
  i.readMessage(r.writeMessage(payload));
  const [k1, k2] = i.split();
  return [
    `handshake hash             ${hex(i.handshakeHash)}`,
    `key client → server        ${hex(k1.key!)}`,
    `key server → client        ${hex(k2.key!)}`,
  ];
}

function resetTokenOf(reset: Uint8Array): Uint8Array {
  return reset.subarray(5);
}

function cookieOf(serverPublic: Uint8Array, reply: Uint8Array, initiation: Uint8Array): Uint8Array {
  const init = decodeEnvelope(initiation) as Initiation;
  return openCookieReply(decodeEnvelope(reply) as CookieReply, serverPublic, init.mac1)!;
}

function mac2With(serverPublic: Uint8Array, reply: Uint8Array, initiation: Uint8Array): Uint8Array {
  const sealed = sealInitiation(initiation.subarray(0, initiation.length - 32), serverPublic, cookieOf(serverPublic, reply, initiation));
  return sealed.subarray(sealed.length - 16);
}

if (import.meta.main) console.log(`${clientExample()}\n\n${peerExample()}`);
