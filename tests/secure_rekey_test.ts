/**
 * Rekeying (lib/secure/session.ts limits through the client and server
 * transports): a new handshake after two minutes or a message count, the
 * old session carrying on meanwhile and receiving until it expires; nothing
 * sent or taken on a session past its age or count limit.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { KIND } from "../lib/secure/envelope.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { DEFAULT_LIMITS, type SessionLimits } from "../lib/secure/session.ts";
import { read, seeded, staticKey, text } from "./_secure.ts";

const A = "192.0.2.1:5000";
const serverKey = staticKey("server");

function connect(limits: SessionLimits = DEFAULT_LIMITS) {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(1), now: 0, limits });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(2), limits });
  const [init] = client.seal(text("login\n1\nbob\n"), 0);
  const [first] = client.receive(server.receive(init, A, 0).send!, 0).send;
  const r = server.receive(first, A, 0);
  if (r.kind !== "data") throw new Error(r.kind);
  return { server, client, session: r.session };
}

/** Hands every datagram to the server and the server's answers back; returns the protocol datagrams the server got and sessions they came on. */
function deliver(server: ServerTransport, client: ClientTransport, out: Uint8Array[], now: number): { got: string[]; sessions: number[] } {
  const got: string[] = [], sessions: number[] = [];
  const queue = [...out];
  while (queue.length > 0) {
    const r = server.receive(queue.shift()!, A, now);
    if (r.kind === "data") {
      got.push(read(r.plaintext)!);
      sessions.push(r.session);
    }
    if (r.send) queue.push(...client.receive(r.send, now).send);
  }
  return { got, sessions };
}

test("after 120 s the client's next datagram goes on the old session with a new initiation beside it", () => {
  const { server, client, session } = connect();
  assert.is(client.seal(text("a\n"), 119_999).length, 1);
  const out = client.seal(text("b\n"), 120_000);
  assert.equal(out.map((d) => d[0]), [KIND.initiation, KIND.data]);
  const { got, sessions } = deliver(server, client, out, 120_000);
  assert.equal(got, ["b\n"]);
  assert.equal(sessions, [session], "the datagram went on the old session");
  // The new session is up: the next datagram uses it; the old one still receives (a held poll's answer).
  const next = deliver(server, client, client.seal(text("c\n"), 120_001), 120_001);
  assert.equal(next.got, ["c\n"]);
  assert.ok(next.sessions[0] !== session);
  const poll = server.seal(session, text("poll\n7\n"), 150_000)!;
  assert.is(read(client.receive(poll.bytes, 150_000).plaintext), "poll\n7\n");
});

test("at 180 s a session neither sends nor takes datagrams", () => {
  const { server, client, session } = connect();
  const late = client.seal(text("a\n"), 179_999);
  assert.is(server.seal(session, text("x\n"), 180_000), null);
  // The server has forgotten it (a datagram still on the way gets a reset, and the client handshakes again).
  const r = server.receive(late.at(-1)!, A, 180_000);
  assert.equal([r.kind, r.kind === "drop" && r.reason], ["drop", "unknown-session"]);
  assert.is(client.receive(r.send!, 180_000).event, "reset");
  // The client, past 180 s, sends an initiation only; its datagram waits for the new session.
  const c = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(3) });
  const s2 = new ServerTransport({ staticKey: serverKey, ...seeded(4), now: 0 });
  deliver(s2, c, c.seal(text("login\n1\nbob\n"), 0), 0);
  const out = c.seal(text("d\n"), 180_000);
  assert.equal(out.map((d) => d[0]), [KIND.initiation]);
  assert.equal(deliver(s2, c, out, 180_000).got, ["d\n"]);
});

test("after rekeyAfterMessages a new handshake starts; at rejectAfterMessages datagrams wait for it", () => {
  const limits = { ...DEFAULT_LIMITS, rekeyAfterMessages: 5, rejectAfterMessages: 8 };
  const { server, client } = connect(limits);
  // The login was datagram 0.
  for (let i = 1; i < 5; i++) assert.is(client.seal(text(`m${i}\n`), 1).length, 1);
  const at5 = client.seal(text("m5\n"), 1);
  assert.equal(at5.map((d) => d[0]), [KIND.initiation, KIND.data]);
  assert.is(client.seal(text("m6\n"), 1).length, 1);
  assert.is(client.seal(text("m7\n"), 1).length, 1);
  assert.equal(client.seal(text("m8\n"), 1), [], "used up: it waits; the initiation is not due again yet");
  assert.is(client.queued, 1);
  // The pending initiation is answered: m8 goes on the new session.
  const { got } = deliver(server, client, [at5[0]], 2);
  assert.equal(got, ["m8\n"]);
  assert.is(server.counts.sessions, 2, "the old session and the new one");
});

test.run();
