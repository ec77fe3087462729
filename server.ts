/**
 * The DistChat server entry script: turns on Node's cache of compiled
 * modules (lib/platform/compile_cache.ts), then runs lib/main/server.ts, which
 * reads flags and the files they name, opens the database and gives a server
 * node (lib/server/node.ts) its sockets and web listener.
 *
 *   npm run server -- --id a [--db data/a.sqlite] [flags]     (--help lists them)
 */
import { cacheCompiledModules, flushCompiledModules } from "./lib/platform/compile_cache.ts";

cacheCompiledModules();
await import("./lib/main/server.ts"); // resolves once the server has started
flushCompiledModules();
