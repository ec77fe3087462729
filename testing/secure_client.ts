/**
 * A raw client of the encrypted transport for black-box tests and
 * benchmarks: the harness's raw UDP socket with lib/secure's
 * ClientTransport in front, pinned to one server's key. `request` seals a
 * protocol datagram (the handshake goes first when there is no session) and
 * resolves with the reply of the same tag; `sent` keeps every datagram that
 * went out, so a test can replay, reorder, truncate or flip them
 * (`sendRaw`).
 *
 * @example
 * ```ts
 * const c = await secureClient(srv.clientAddr, entries[0].key!);
 * const reply = await c.request(lines("login", "1", "bob"));   // "ok\n1\nlogin\nbob\n<token>\n…"
 * c.sendRaw(c.sent.at(-1)!);                                   // a replay: dropped
 * await c.close();
 * ```
 */
import { randomBytes } from "node:crypto";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import { type Address, formatAddress } from "../lib/wire/address.ts";
import { udpClient, type UdpClient } from "./harness.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

/** A test client of the encrypted transport (see the file comment). */
export type SecureClient = {
  address: Address;
  /** Every datagram sent so far, as sent (sealed). */
  sent: Uint8Array[];
  /** Sends `text` sealed and resolves with the reply text of the same tag; rejects after `timeoutMs`. */
  request(text: string, timeoutMs?: number): Promise<string>;
  /** `text` sealed on the current session, not sent (empty before the first request's handshake). */
  seal(text: string): Uint8Array[];
  /** Sends bytes as they are. */
  sendRaw(bytes: Uint8Array): void;
  /** The next protocol reply (opened), or null after `timeoutMs`. */
  next(timeoutMs?: number): Promise<string | null>;
  close(): Promise<void>;
};

/** A client of the server at `server`, whose static public key is `serverKey`. */
export async function secureClient(server: Address, serverKey: Uint8Array, host = "127.0.0.1"): Promise<SecureClient> {
  const raw = await udpClient(host);
  const t = newTransport(serverKey);
  const sent: Uint8Array[] = [];
  const inbox: string[] = [];
  const sendRaw = (bytes: Uint8Array) => {
    sent.push(bytes.slice());
    raw.send(server, bytes);
  };
  /** Waits for datagrams until one opens to a protocol reply `pick` takes, or the time is up. */
  const waitFor = async (pick: (text: string) => boolean, timeoutMs: number): Promise<string | null> => {
    const until = Date.now() + timeoutMs;
    let found = inbox.findIndex(pick);
    while (found < 0) {
      const d = await raw.next(Math.max(0, until - Date.now()));
      if (d === null) return null;
      const r = t.receive(d.bytes, Date.now());
      for (const s of r.send) sendRaw(s);
      if (r.plaintext !== null) inbox.push(dec.decode(r.plaintext));
      found = inbox.findIndex(pick);
    }
    return inbox.splice(found, 1)[0];
  };
  return {
    address: raw.address,
    sent,
    sendRaw,
    async request(text, timeoutMs = 10_000) {
      const tag = text.split("\n")[1];
      for (const d of t.seal(enc.encode(text), Date.now())) sendRaw(d);
      const reply = await waitFor((r) => r.split("\n")[1] === tag, timeoutMs);
      if (reply === null) throw new Error(`no encrypted reply to ${JSON.stringify(text.slice(0, 60))} from ${formatAddress(server)} in ${timeoutMs} ms`);
      return reply;
    },
    seal: (text) => t.established(Date.now()) ? t.seal(enc.encode(text), Date.now()) : [],
    next: (timeoutMs = 5000) => waitFor(() => true, timeoutMs),
    close: () => raw.close(),
  };
}

/**
 * The harness's UdpClient over the encrypted transport, to every server of
 * `keys` (client address `host:port` → static public key): one socket, one
 * lib/secure ClientTransport per server, so a client that fails over
 * handshakes once with the next server, and a restarted server's reset
 * makes a new handshake at once. `next` and `request` see only protocol
 * replies (opened); handshake datagrams are answered as they arrive.
 *
 * @example
 * ```ts
 * const u = await secureUdpClient(new Map([[formatAddress(a), keyOfA]]));
 * await u.request(a, lines("login", "1", "bob"));   // as udpClient's, encrypted
 * ```
 */
export function secureUdpClient(keys: ReadonlyMap<string, Uint8Array>, host = "127.0.0.1"): Promise<UdpClient> {
  const links = new Map<string, ClientTransport>();
  const linkTo = (a: Address): ClientTransport | null => {
    const at = formatAddress(a);
    const key = keys.get(at);
    if (key === undefined) return null;
    let t = links.get(at);
    if (t === undefined) links.set(at, t = newTransport(key));
    return t;
  };
  return udpClient(host, {
    out: (bytes, to) => linkTo(to)?.seal(bytes, Date.now()) ?? [],
    in(bytes, from) {
      const r = links.get(formatAddress(from))?.receive(bytes, Date.now());
      return r === undefined ? { bytes: null, reply: [] } : { bytes: r.plaintext, reply: r.send };
    },
  });
}

/** A client transport pinned to `serverKey`. */
function newTransport(serverKey: Uint8Array): ClientTransport {
  return new ClientTransport({ serverKey, random: (n) => new Uint8Array(randomBytes(n)), newKeyPair: generateKeyPair });
}
