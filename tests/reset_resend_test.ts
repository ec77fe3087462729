/**
 * Issue 27, a restarted server's first listing (docs/PERFORMANCE_NOTES.md §5
 * "settle"): a client's request sealed on a session the server lost in a
 * restart is answered with a reset, and the client handshakes again at
 * once (lib/secure/client_transport.ts). The request itself, which the
 * server could not open, used to be lost until the client's own retry
 * timer (the chaos watcher's: 500 ms + 100 ms; ~0.9 s of each restarted
 * server's listings). It now goes again on the new session, as a
 * retransmission of its tag; only datagrams sealed in the last
 * RESEND_AFTER_RESET_MS do. In memory, time moved by hand.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientTransport, RESEND_AFTER_RESET_MS } from "../lib/secure/client_transport.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { read, seeded, staticKey, text } from "./_secure.ts";

const A = "192.0.2.1:5000";
const serverKey = staticKey("server");

/** A client with a session at a server (its login delivered at time 0), and the server restarted (no sessions) at `at`. */
function restartedAt(at: number) {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(1), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(1001) });
  const [init] = client.seal(text("login\n1\nbob\n"), 0);
  const got = client.receive(server.receive(init, A, 0).send!, 0);
  assert.is(server.receive(got.send[0], A, 0).kind, "data");
  return { client, restarted: new ServerTransport({ staticKey: serverKey, ...seeded(2), now: at }) };
}

/** Delivers the client's datagrams `ds` to `server` at `now`; the server's replies back; what the server opened (text), and the client's next datagrams. */
function exchange(client: ClientTransport, server: ServerTransport, ds: Uint8Array[], now: number) {
  const opened: string[] = [], next: Uint8Array[] = [];
  const events: (string | null)[] = [];
  for (const d of ds) {
    const r = server.receive(d, A, now);
    if (r.kind === "data") opened.push(read(r.plaintext) ?? "(not a protocol datagram)");
    if (r.send) {
      const c = client.receive(r.send, now);
      events.push(c.event);
      next.push(...c.send);
    }
  }
  return { opened, next, events };
}

test("a request the restarted server could not open goes again on the new session, once the handshake is done", () => {
  const { client, restarted } = restartedAt(5000);
  const poll = client.seal(text("request\n5\nT\nlobby\n0\n"), 5000);
  assert.is(poll.length, 1);
  const reset = exchange(client, restarted, poll, 5000);
  assert.equal([reset.opened, reset.events], [[], ["reset"]]);
  assert.is(reset.next.length, 1, "the new initiation");
  const hs = exchange(client, restarted, reset.next, 5001);
  assert.equal(hs.events, ["established"]);
  const up = exchange(client, restarted, hs.next, 5002);
  assert.equal(up.opened, ["request\n5\nT\nlobby\n0\n"], "the request, not only a keepalive");
});

test("only what was sealed in the last RESEND_AFTER_RESET_MS goes again, each once", () => {
  const { client, restarted } = restartedAt(0);
  const t = 10_000;
  client.seal(text("request\n1\nT\nold\n0\n"), t - RESEND_AFTER_RESET_MS - 1);
  client.seal(text("request\n2\nT\nnew\n0\n"), t - 10);
  client.seal(text("request\n2\nT\nnew\n0\n"), t - 5); // a retransmission
  const last = client.seal(text("request\n3\nT\nnewer\n0\n"), t);
  const reset = exchange(client, restarted, last, t);
  const hs = exchange(client, restarted, reset.next, t);
  const up = exchange(client, restarted, hs.next, t);
  assert.equal(up.opened, ["request\n2\nT\nnew\n0\n", "request\n3\nT\nnewer\n0\n"]);
});

test.run();
