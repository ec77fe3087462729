/**
 * `npm run keygen -- FILE`: writes a new cluster key (32 random bytes as 64
 * hex digits, mode 0600) for `--cluster-key`. Never overwrites a file.
 */
import { fail, parseCommandLine } from "../lib/config/cli.ts";
import { createKeyFile } from "../lib/config/cluster_key.ts";

const HELP = `npm run keygen: writes a new cluster key for --cluster-key (readable by you only).

usage: npm run keygen -- FILE

Copy the same file to every server of the cluster (and to whoever runs npm run status).`;
const { positionals } = parseCommandLine("keygen", HELP, {}, { allowPositionals: true });
if (positionals.length !== 1) fail("keygen", "give one file name; usage: npm run keygen -- FILE");
try {
  createKeyFile(positionals[0]);
} catch (e) {
  fail("keygen", (e as Error).message, 1);
}
console.log(`wrote ${positionals[0]}: give it to every server with --cluster-key ${positionals[0]}`);
