/**
 * Everything a server is started with, read and checked before it opens
 * its database: its line of the servers file, where its web listener binds,
 * the cluster key (required when there are peers, unless
 * `--insecure-peers`), the TLS files, and the node's and web listener's
 * config (lib/config/node_config.ts). A problem throws one line a user can
 * act on, naming the file or flag.
 *
 * @example
 * ```ts
 * const setup = serverSetup(parseServerFlags(argv), openFileLimit());
 * setup.node.id; setup.web?.at; setup.warnings; // what to log at start
 * ```
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bytesEqual, type KeyPair } from "../secure/suite.ts";
import { readKeyFile } from "./cluster_key.ts";
import { readStaticKeyFile } from "./static_key.ts";
import { type IrcListenConfig, type NodeConfig, serverConfig, type WebConfig } from "./node_config.ts";
import { type ServerFlags, webListenAddress } from "./server_flags.ts";
import { readServersFile, type ServerEntry } from "./servers_file.ts";
import { readOpersFile } from "./irc_opers.ts";

/** What a server starts with. */
export type ServerSetup = {
  flags: ServerFlags;
  /** This server's line of the servers file. */
  me: ServerEntry;
  /** Every server of the servers file. */
  servers: ServerEntry[];
  node: NodeConfig;
  /** The web listener's config, or null for none. */
  web: WebConfig | null;
  /** The IRC listener's config, or null for none (the default). */
  irc: IrcListenConfig | null;
  clusterKey: Uint8Array | null;
  /** This server's static key pair (its public key is its servers-file key=), or null: plaintext only. */
  staticKey: KeyPair | null;
  /** Every other server's static public key, or null when one has no key= (peer links are then plaintext, with --allow-plaintext only). */
  peerKeys: ReadonlyMap<string, Uint8Array> | null;
  /** The unencrypted client protocol is accepted too (--allow-plaintext). */
  allowPlaintext: boolean;
  /** PEM certificate and key of the web listener and of `--irc-tls` (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
  /** Lines to log at start (an unprotected key file, unauthenticated peers). */
  warnings: string[];
};

/** Reads and checks what the flags name; throws an Error whose message is one line. */
export function serverSetup(flags: ServerFlags, fileLimit: number | null): ServerSetup {
  const { servers, retired } = readServersFile(flags.servers);
  const me = servers.find((s) => s.id === flags.id);
  if (!me) throw new Error(`${flags.servers} has no line for server id "${flags.id}" (it lists ${servers.map((s) => s.id).join(", ")})`);
  const webAt = webListenAddress(flags, me.web);
  const warnings: string[] = [];
  let clusterKey: Uint8Array | null = null;
  if (flags.clusterKey !== null) {
    const k = readKeyFile(flags.clusterKey);
    clusterKey = k.key;
    if (k.warning) warnings.push(k.warning);
  } else if (servers.length > 1 && !flags.insecurePeers) {
    throw new Error(
      `${flags.servers} lists ${servers.length - 1} other server(s), so peer datagrams must be authenticated: ` +
        `give every server the same --cluster-key FILE (npm run keygen -- FILE makes one), or --insecure-peers on a trusted test machine`,
    );
  }
  let tls: ServerSetup["tls"];
  if (flags.tlsCert !== null && flags.tlsKey !== null) {
    try {
      tls = { cert: readFileSync(flags.tlsCert, "utf8"), key: readFileSync(flags.tlsKey, "utf8") };
    } catch (e) {
      throw new Error(`cannot read --tls-cert/--tls-key: ${(e as Error).message}`);
    }
  }
  const staticKey = serverStaticKey(flags, me, warnings);
  const peerKeys = peerPublicKeys(flags, servers, staticKey, warnings);
  if (clusterKey === null && servers.length > 1) {
    warnings.push(`--insecure-peers: peer datagrams are ${peerKeys === null ? "not authenticated" : "authenticated by the servers' keys only (no cluster key as psk)"}`);
  }
  const { node, web, irc: listener } = serverConfig(flags, servers, webAt, fileLimit, retired);
  const irc = listener === null ? null : { ...listener, opers: readOpersFile(flags.ircOpers, flags.servers) };
  return { flags, me, servers, node, web, irc, clusterKey, staticKey, peerKeys, allowPlaintext: flags.allowPlaintext, tls, warnings };
}

/** Where a server's static private key is by default: `ID.server.key` beside the servers file. */
export function defaultServerKeyFile(serversFile: string, id: string): string {
  return join(dirname(serversFile), `${id}.server.key`);
}

/**
 * The server's static key pair, checked against the key= of its servers-file
 * line; null when the line has none, which only --allow-plaintext permits.
 */
function serverStaticKey(flags: ServerFlags, me: ServerEntry, warnings: string[]): KeyPair | null {
  if (me.publicKey === undefined) {
    if (flags.allowPlaintext) return null;
    throw new Error(
      `${flags.servers} gives server ${me.id} no key=, so its clients could not encrypt: make a key (npm run keygen -- --server-key FILE), ` +
        `add its key=BASE64 to the line and give --server-key FILE, or run with --allow-plaintext`,
    );
  }
  const file = flags.serverKey ?? defaultServerKeyFile(flags.servers, me.id);
  const { keyPair, warning } = readStaticKeyFile(file);
  if (warning) warnings.push(warning);
  if (!bytesEqual(keyPair.publicKey, me.publicKey)) {
    throw new Error(`the server key ${file} is not the key= of server ${me.id} in ${flags.servers} (npm run keygen -- --public ${file} prints its key=)`);
  }
  return keyPair;
}

/**
 * The other servers' public keys, which encrypt the peer links
 * (docs/PEER_PROTOCOL.md "Encrypted transport"); null when this server or
 * one of them has no key=, which only --allow-plaintext permits.
 */
function peerPublicKeys(flags: ServerFlags, servers: ServerEntry[], staticKey: KeyPair | null, warnings: string[]): Map<string, Uint8Array> | null {
  const others = servers.filter((s) => s.id !== flags.id);
  if (others.length === 0) return null;
  const unkeyed = others.filter((s) => s.publicKey === undefined).map((s) => s.id);
  if (staticKey !== null && unkeyed.length === 0) return new Map(others.map((s) => [s.id, s.publicKey!]));
  if (!flags.allowPlaintext) {
    throw new Error(
      `${flags.servers} gives server(s) ${unkeyed.join(", ")} no key=, so peer links could not be encrypted: ` +
        `add each server's key= (npm run keygen -- --public FILE prints it) or run every server with --allow-plaintext`,
    );
  }
  warnings.push(`--allow-plaintext: peer datagrams are not encrypted (${staticKey === null ? `server ${flags.id}` : `server(s) ${unkeyed.join(", ")}`} without key= in ${flags.servers})`);
  return null;
}
