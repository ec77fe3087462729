/**
 * What a server says once it has started (the `start` event of its log,
 * docs/OPERATIONS.md "Logs"): where it listens, its database, its origin and
 * how clients and peers are protected — one line for a terminal, the same as
 * fields for a log shipper.
 *
 * @example
 * ```ts
 * const { message, fields } = startLine({ started, fanout: "unicast", db: "data/a.sqlite", peers: 2, keyed: true, encrypted: true, plaintext: false });
 * log(message, { event: "start", stdout: true, fields });
 * ```
 */
import { formatAddress } from "../wire/address.ts";
import type { Started } from "./node.ts";

/** The facts of the start line. */
export type StartFacts = {
  started: Started;
  /** How the node fans out to peers. */
  fanout: string;
  db: string;
  /** Peers in the servers file. */
  peers: number;
  /** A cluster key authenticates peer datagrams. */
  keyed: boolean;
  /** Clients may use the encrypted transport (the server has a static key). */
  encrypted: boolean;
  /** Clients may speak plaintext. */
  plaintext: boolean;
};

/** The start line's text and fields. */
export function startLine(f: StartFacts): { message: string; fields: Record<string, string | number | boolean> } {
  const { started, peers } = f;
  const clients = formatAddress(started.client!), peerAt = formatAddress(started.peer!);
  const protection = f.encrypted ? `encrypted${f.plaintext ? " or plaintext (--allow-plaintext)" : ""}` : "plaintext only (no key=, --allow-plaintext)";
  // Restarted or joining: writes are refused until it logs "caught up … taking writes" (docs/OPERATIONS.md "Restarting a server").
  const catchingUp = started.state === "rejoining" ? ", catching up (restarted): writes refused until caught up" : started.state === "joining" ? ", catching up (--join): writes refused until caught up" : "";
  return {
    message: `clients ${clients}, peers ${peerAt}, database ${f.db}, fan-out ${f.fanout}, ` +
      `${f.keyed ? "peers authenticated" : "peers NOT authenticated"}, ${peers} peer${peers === 1 ? "" : "s"}, origin ${started.origin}, ` +
      `clients ${protection}${catchingUp}`,
    fields: { clients, peers: peerAt, database: f.db, origin: started.origin, peerCount: peers, encrypted: f.encrypted, plaintext: f.plaintext, state: started.state ?? "member" },
  };
}
