/**
 * lib/config/servers_file.ts: servers.txt (docs/PROTOCOL.md "servers.txt"). Good files
 * parse to entries in file order; each bad one stops with one error that
 * names the file and the line.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keyField, parseServers, readServers, ServersFileError } from "../lib/config/servers_file.ts";
import { encodeKey } from "../lib/secure/keys.ts";
import { formatAddress, parseAddress } from "../lib/net/address.ts";

const FILE = "conf/servers.txt";

test("parses servers in file order", () => {
  const s = parseServers("a 127.0.0.1:7001 127.0.0.1:7101\nb localhost:7002 10.0.0.2:7102\n", FILE);
  assert.equal(s, [
    { id: "a", client: { host: "127.0.0.1", port: 7001 }, peer: { host: "127.0.0.1", port: 7101 } },
    { id: "b", client: { host: "localhost", port: 7002 }, peer: { host: "10.0.0.2", port: 7102 } },
  ]);
});

test("comments, blank lines, CRLF, tabs and surrounding spaces are ignored", () => {
  const text = [
    "# DistChat cluster",
    "",
    "   ",
    "a 127.0.0.1:7001 127.0.0.1:7101   # first",
    "\t b\t127.0.0.1:7002  127.0.0.1:7102\t",
    "#c 127.0.0.1:7003 127.0.0.1:7103",
    "c-2_x 127.0.0.1:7003 127.0.0.1:7103#no space before the comment",
    "",
  ].join("\r\n");
  const s = parseServers(text, FILE);
  assert.equal(s.map((e) => e.id), ["a", "b", "c-2_x"]);
  assert.equal(s[2].peer, { host: "127.0.0.1", port: 7103 });
});

test("an optional fourth field: the server's web URL (an origin); three-field lines stay valid", () => {
  const s = parseServers("a h:1 h:2 http://127.0.0.1:8001\nb h:3 h:4 https://chat.example.org/\nc h:5 h:6\n", FILE);
  assert.equal(s.map((e) => e.web), ["http://127.0.0.1:8001", "https://chat.example.org", undefined]);
});

const KEY_A = "jUWT/O31VNfcFBJneiXdxiun1jXcJ4C/iG3TuoneXHY=";
const KEY_B = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

test("an optional key=BASE64 field: the server's public key, beside or instead of the web URL, in either order", () => {
  const s = parseServers(
    [
      `a h:1 h:2 http://127.0.0.1:8001 key=${KEY_A}`,
      `b h:3 h:4 key=${KEY_B} https://chat.example.org`,
      "c h:5 h:6",
      `d h:7 h:8 key=${KEY_A.replace("jU", "kU")}`,
    ].join("\n"),
    FILE,
  );
  assert.equal(s.map((e) => e.web), ["http://127.0.0.1:8001", "https://chat.example.org", undefined, undefined]);
  assert.equal(s.map((e) => e.publicKey && encodeKey(e.publicKey)), [KEY_A, KEY_B, undefined, KEY_A.replace("jU", "kU")]);
  assert.is(keyField(s[0].publicKey!), `key=${KEY_A}`);
  assert.is(s[0].publicKey!.length, 32);
});

test("a file without a final newline parses", () => {
  assert.is(parseServers("a 127.0.0.1:7001 127.0.0.1:7101", FILE).length, 1);
});

test("IPv6 addresses in brackets; formatAddress brackets them again", () => {
  const [s] = parseServers("v6 [::1]:7001 [fe80::1]:7101\n", FILE);
  assert.equal(s.client, { host: "::1", port: 7001 });
  assert.is(formatAddress(s.client), "[::1]:7001");
  assert.is(formatAddress(s.peer), "[fe80::1]:7101");
  assert.is(formatAddress(parseAddress("example.org:1")), "example.org:1");
});

test("ports 1 and 65535 are the bounds", () => {
  const [s] = parseServers("a h:1 h:65535\n", FILE);
  assert.is(s.client.port, 1);
  assert.is(s.peer.port, 65535);
});

test("the repository's servers.txt parses", () => {
  const s = readServers(fileURLToPath(new URL("../servers.txt", import.meta.url)));
  assert.ok(s.length >= 1);
  assert.is(new Set(s.map((e) => e.id)).size, s.length);
});

/** Each bad file: its text, the line the error must name, and what the message must say. */
const bad: [name: string, text: string, line: number, says: RegExp][] = [
  ["bad id: upper case", "# x\nA 127.0.0.1:7001 127.0.0.1:7101\n", 2, /bad server id "A"/],
  ["bad id: starts with -", "-a 127.0.0.1:7001 127.0.0.1:7101\n", 1, /bad server id "-a"/],
  ["bad id: 17 characters", "a".repeat(17) + " h:1 h:2\n", 1, /bad server id/],
  ["bad id: a dot", "a.b h:1 h:2\n", 1, /bad server id "a\.b"/],
  ["repeated id", "a h:1 h:2\n\nb h:3 h:4\na h:5 h:6\n", 4, /repeats server id "a"/],
  ["repeated id, CRLF", "a h:1 h:2\r\n# c\r\na h:5 h:6\r\n", 3, /repeats server id "a"/],
  ["port 0", "a 127.0.0.1:0 127.0.0.1:7101\n", 1, /bad address: port 0 is outside 1\.\.65535/],
  ["port 65536", "a h:1 h:2\nb h:65536 h:3\n", 2, /bad address: port 65536/],
  ["port not a number", "a h:70x1 h:2\n", 1, /bad address: "h:70x1" is not host:port/],
  ["no port", "a 127.0.0.1 127.0.0.1:7101\n", 1, /bad address: "127\.0\.0\.1" is not host:port/],
  ["empty port", "a h: h:2\n", 1, /bad address/],
  ["six-digit port", "a h:100000 h:2\n", 1, /bad address/],
  ["bad peer address", "a h:1 h:2\nb h:3 nope\n", 2, /bad address: "nope"/],
  ["unbracketed IPv6", "a ::1:7001 h:2\n", 1, /bad address/],
  ["client and peer address alike", "a h:1 h:1\n", 1, /peer address h:1, which is already server a's client address/],
  ["an address of another server", "a h:1 h:2\nb h:3 h:2\n", 2, /peer address h:2, which is already server a's peer address/],
  ["two fields", "a 127.0.0.1:7001\n", 1, /has 2 fields; expected "serverId clientAddress peerAddress \[webUrl\] \[key=BASE64\]"/],
  ["one field", "# x\n\na\n", 3, /has 1 fields/],
  ["six fields", `a h:1 h:2 http://h:3 key=${KEY_A} x\n`, 1, /has 6 fields/],
  ["a fifth field that is neither", "a h:1 h:2 http://h:3 x\n", 1, /has two web URLs/],
  ["two web URLs", "a h:1 h:2 http://h:3 http://h:4\n", 1, /has two web URLs/],
  ["two keys", `a h:1 h:2 key=${KEY_A} key=${KEY_B}\n`, 1, /has two keys/],
  ["a key too short", `a h:1 h:2 key=${KEY_A.slice(1)}\n`, 1, /has a bad key: ".*" is not 44 characters of base64 \(npm run keygen -- --server-key FILE/],
  ["a key in hex", `a h:1 h:2 key=${"ab".repeat(32)}\n`, 1, /has a bad key/],
  ["an empty key", "a h:1 h:2 key=\n", 1, /has a bad key: ""/],
  ["a key in base64url", `a h:1 h:2 key=${KEY_A.replace("/", "_")}\n`, 1, /has a bad key/],
  ["a key of low order", `a h:1 h:2 key=${"A".repeat(43)}=\n`, 1, /has a bad key: ".*" is not a usable X25519 public key/],
  ["the key of another server", `a h:1 h:2 key=${KEY_A}\nb h:3 h:4 key=${KEY_A}\n`, 2, /gives server b the key of server a; every server needs its own/],
  ["a web URL that is not a URL", "a h:1 h:2 h:3\n", 1, /bad web URL: "h:3" must start with http/],
  ["a web URL with a path", "a h:1 h:2 http://h:3/chat\n", 1, /bad web URL: .* must be an origin only/],
  ["a web URL of another scheme", "a h:1 h:2 ftp://h:3\n", 1, /must start with http:\/\/ or https:\/\//],
  ["fields after a good line", "a h:1 h:2\r\nb h:3 h:4 extra\r\n", 2, /bad web URL/],
];

for (const [name, text, line, says] of bad) {
  test(`bad file: ${name} → names file and line ${line}`, () => {
    try {
      parseServers(text, FILE);
    } catch (e) {
      assert.instance(e, ServersFileError);
      assert.instance(e, SyntaxError);
      const message = (e as Error).message;
      assert.ok(message.startsWith(`Cannot read ${FILE}: line ${line} `), message);
      assert.match(message, says);
      assert.not.match(message, /\n/);
      return;
    }
    assert.unreachable("parsed a bad file");
  });
}

test("a file with no servers names the file", () => {
  for (const text of ["", "# only a comment\n\n", "\r\n  \r\n"]) {
    assert.throws(() => parseServers(text, FILE), (e: Error) => e.message === `Cannot read ${FILE}: it lists no servers`);
  }
});

test("readServers: a missing file names the file and the reason", () => {
  const dir = mkdtempSync(join(tmpdir(), "distchat-servers-"));
  try {
    const missing = join(dir, "missing.txt");
    assert.throws(() => readServers(missing), (e: Error) => e.message === `Cannot read the servers file ${missing}: no such file (give another with --servers FILE)`);
    const file = join(dir, "servers.txt");
    writeFileSync(file, "a h:1 h:2\nb h:3\n");
    assert.throws(() => readServers(file), (e: Error) => e.message.startsWith(`Cannot read ${file}: line 2 has 2 fields`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("parseAddress: wrong shape is a SyntaxError, port out of range a RangeError", () => {
  assert.throws(() => parseAddress("h"), SyntaxError);
  assert.throws(() => parseAddress("h:0"), RangeError);
  assert.equal(parseAddress("[::ffff:127.0.0.1]:9"), { host: "::ffff:127.0.0.1", port: 9 });
});

test.run();
