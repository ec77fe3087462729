/**
 * The encrypted transport at a server's UDP client port (docs/PROTOCOL.md
 * "Encrypted transport"): every datagram the socket receives goes through
 * the ServerTransport (lib/secure/server_transport.ts) first. Handshakes,
 * cookie replies, path challenges and resets go straight back; a data
 * datagram's protocol text goes to the client port on the channel `nk`,
 * whose replies are sealed for the session the request came on and sent to
 * that session's current address. A session's address is proven by its
 * handshake (or, after it roams, by echoing a path challenge), so its
 * replies are not cut to the 3x budget. A plaintext datagram goes to the
 * client port as today's protocol only with --allow-plaintext; otherwise
 * it gets one short error naming the flag (within the 3x budget).
 *
 * "Under load" (cookie replies instead of key exchanges) is the
 * Responder's own rate (handshakes in the last second) or more than
 * `loadPending` handshakes waiting for their first data datagram — what a
 * flood of initiations from spoofed addresses leaves behind.
 *
 * @example
 * ```ts
 * const intake = new SecureIntake({ transport, allowPlaintext: false, port, plain: udpChannel, raw: socket, clock });
 * socket.onDatagram = (bytes, from) => intake.receive(bytes, from);
 * ```
 */
import { KIND } from "../secure/envelope.ts";
import type { ServerTransport } from "../secure/server_transport.ts";
import { type Address, formatAddress, parseAddress } from "../wire/address.ts";
import type { ClientChannel } from "./channel.ts";
import type { Clock } from "./clock.ts";

/** Pending handshakes past which initiations get cookie replies, by default. */
export const DEFAULT_LOAD_PENDING = 2000;
/** How often sessions and addresses no session uses any more are swept, ms. */
const SWEEP_MS = 5000;
/** What a plaintext datagram is told without --allow-plaintext. */
export const PLAINTEXT_REFUSAL = "plaintext needs --allow-plaintext; this server is encrypted (docs/PROTOCOL.md \"Encrypted transport\")";

/** What the intake hands datagrams to: the client port. */
export type IntakePort = {
  onDatagram(bytes: Uint8Array, from: Address, via: ClientChannel): void;
  /** One short error to a datagram that is not served (within the 3x budget), nothing else. */
  refuse(bytes: Uint8Array, from: Address, via: ClientChannel, message: string): void;
};

export type SecureIntakeOptions = {
  /** The encrypted transport, or null when this server has no key (plaintext only). */
  transport: ServerTransport | null;
  allowPlaintext: boolean;
  port: IntakePort;
  /** The UDP channel plaintext requests come on and are answered through. */
  plain: ClientChannel;
  /** Sends bytes as they are (handshake replies, sealed replies). */
  raw: { send(bytes: Uint8Array, to: Address): void };
  clock: Clock;
  loadPending?: number;
};

/** The client port's encrypted transport, between the socket and the port. */
export class SecureIntake {
  readonly #o: SecureIntakeOptions;
  /** The session each address (`host:port`) last sent data on: replies to that address are sealed for it. */
  readonly #byAddress = new Map<string, number>();
  /** Addresses as received, by their text: where sealed replies go without parsing. */
  readonly #addresses = new Map<string, Address>();
  readonly #proven: ClientChannel;
  readonly #unproven: ClientChannel;
  #sweptAt = 0;
  /** Datagrams the transport dropped (bad MACs, replays, unknown sessions), by reason. */
  readonly drops = new Map<string, number>();

  constructor(o: SecureIntakeOptions) {
    this.#o = o;
    const send = (bytes: Uint8Array, to: Address) => this.#seal(bytes, to);
    this.#proven = { name: "nk", proven: true, send };
    this.#unproven = { name: "nk", proven: false, send };
  }

  /** Handles one datagram from the socket. */
  receive(bytes: Uint8Array, from: Address): void {
    const t = this.#o.transport;
    if (t === null) return this.#plaintext(bytes, from);
    const now = this.#o.clock.now();
    if (now - this.#sweptAt >= SWEEP_MS) this.#sweep(t, now);
    // Only an initiation asks whether the server is under load.
    const underLoad = bytes[0] === KIND.initiation && t.counts.pending > (this.#o.loadPending ?? DEFAULT_LOAD_PENDING);
    const at = formatAddress(from);
    const r = t.receive(bytes, at, now, underLoad);
    if (r.send) this.#o.raw.send(r.send, from);
    switch (r.kind) {
      case "plaintext":
        return this.#plaintext(bytes, from);
      case "data":
        if (this.#byAddress.get(at) !== r.session) {
          this.#byAddress.set(at, r.session);
          this.#addresses.set(at, from);
        }
        return this.#o.port.onDatagram(r.plaintext, from, r.proven && r.address === at ? this.#proven : this.#unproven);
      case "drop":
        this.drops.set(r.reason, (this.drops.get(r.reason) ?? 0) + 1);
        return;
    }
  }

  #plaintext(bytes: Uint8Array, from: Address): void {
    if (this.#o.allowPlaintext) this.#o.port.onDatagram(bytes, from, this.#o.plain);
    else this.#o.port.refuse(bytes, from, this.#o.plain, PLAINTEXT_REFUSAL);
  }

  /** A reply to `to` on the nk channel: sealed for the session that address last used, sent where that session is now. */
  #seal(bytes: Uint8Array, to: Address): void {
    const t = this.#o.transport;
    const index = this.#byAddress.get(formatAddress(to));
    if (t === null || index === undefined) return;
    const sealed = t.seal(index, bytes, this.#o.clock.now());
    if (sealed !== null) this.#o.raw.send(sealed.bytes, this.#addresses.get(sealed.address) ?? parseAddress(sealed.address));
  }

  #sweep(t: ServerTransport, now: number): void {
    this.#sweptAt = now;
    t.sweep(now);
    for (const [address, index] of this.#byAddress) {
      if (t.describe(index, now) !== null) continue;
      this.#byAddress.delete(address);
      this.#addresses.delete(address);
    }
  }
}
