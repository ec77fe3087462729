/**
 * DistChat terminal client.
 *
 *   client.ts --user NAME [--servers FILE] [--room ROOM] [--key-file FILE] [--wait-ms MS]
 *
 * In a terminal: a prompt showing the room you type into; lines starting
 * with / are commands (/help). With stdin a pipe or file: each line is a
 * message or command, each received message is one stdout line, status goes
 * to stderr, and at EOF the client waits for its messages to be stored,
 * logs out and exits.
 *
 * Rooms with a passphrase (typed hidden with /key, or from --key-file) get
 * sealed messages, end to end (docs/CLIENT.md, docs/SEALED_FORMAT.md).
 */
import { cacheCompiledModules } from "./lib/platform/compile_cache.ts";

// Node's cache of compiled modules first (lib/platform/compile_cache.ts), then the client itself.
cacheCompiledModules();
await import("./lib/main/client.ts");
