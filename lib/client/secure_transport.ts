/**
 * The encrypted transport (docs/PROTOCOL.md "Encrypted transport") around
 * another ClientTransport — the terminal's UDP one: every request datagram
 * to a server is sealed for that server's pinned static key (its key= in
 * servers.txt, or of a server learned from a `servers` reply a pinned
 * server vouched for — never on first use), every datagram from it opened;
 * what is not a protocol datagram (a handshake response, a cookie reply, a
 * path challenge, a reset) is handled here and never reaches the
 * connection. One lib/secure ClientTransport per server, made when the
 * connection first sends to it: failing over to the next server is one
 * handshake with it, the token and cursors carry on above this layer. A
 * restarted server answers the old session with a reset: a new handshake
 * goes at once. A server without a key is spoken to in plaintext only when
 * `allowPlaintext`; otherwise nothing is sent to it.
 *
 * Terminal only: lib/secure's primitives are node:crypto's.
 *
 * @example
 * ```ts
 * const open = secureTransport(udpTransport(bind), { keys: new Map([["a", keyOfA]]), allowPlaintext: false });
 * const conn = await Connection.open({ servers, transport: open });
 * ```
 */
import { ClientTransport as SecureChannel } from "../secure/client_transport.ts";
import { generateKeyPair } from "../secure/suite.ts";
import { randomBytes } from "./random.ts";
import type { OpenTransport, ServerRef } from "./transport.ts";

/** What secureTransport needs. */
export type SecureTransportOptions = {
  /** Each server's static public key by server id (servers.txt key=). */
  keys: ReadonlyMap<string, Uint8Array>;
  /** Speak plaintext to servers without a key (--allow-plaintext); otherwise they are never sent to. */
  allowPlaintext: boolean;
  /** Milliseconds now (default Date.now). */
  now?: () => number;
  random?: (n: number) => Uint8Array;
};

/** `inner` with every datagram to and from a keyed server sealed and opened. */
export function secureTransport(inner: OpenTransport, o: SecureTransportOptions): OpenTransport {
  const now = o.now ?? Date.now;
  const random = o.random ?? randomBytes;
  return async (servers, events) => {
    const channels = new Map<ServerRef, SecureChannel>();
    const channel = (s: ServerRef): SecureChannel | null => {
      const key = o.keys.get(s.id) ?? s.publicKey; // the servers file's key wins (the trust root)
      if (key === undefined) return null;
      let c = channels.get(s);
      if (c === undefined) channels.set(s, c = new SecureChannel({ serverKey: key, random, newKeyPair: generateKeyPair }));
      return c;
    };
    const t = await inner(servers, {
      ...events,
      datagram(bytes, from) {
        const c = channel(from);
        if (c === null) {
          if (o.allowPlaintext) events.datagram(bytes, from);
          return;
        }
        const r = c.receive(bytes, now());
        for (const d of r.send) t.send(d, from);
        if (r.plaintext !== null) events.datagram(r.plaintext, from);
      },
    });
    return {
      send(bytes, to) {
        const c = channel(to);
        if (c === null) {
          if (o.allowPlaintext) t.send(bytes, to);
          return;
        }
        for (const d of c.seal(bytes, now())) t.send(d, to);
      },
      via: (to) => channel(to) === null ? t.via(to) : `encrypted ${t.via(to)}`,
      close: () => t.close(),
    };
  };
}
