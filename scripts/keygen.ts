/**
 * `npm run keygen -- FILE`: writes a new cluster key (32 random bytes as 64
 * hex digits, mode 0600) for `--cluster-key`.
 * `npm run keygen -- --server-key FILE`: writes a server's static key pair
 * for the encrypted transport (FILE private, mode 0600; FILE.pub) and prints
 * the `key=BASE64` field of its servers.txt line.
 * `npm run keygen -- --public FILE`: prints that field for an existing
 * server key. Never overwrites a file.
 */
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { createKeyFile } from "../lib/config/cluster_key.ts";
import { keyField } from "../lib/config/servers_file.ts";
import { createStaticKeyFile, readStaticKeyFile } from "../lib/config/static_key.ts";

const KEYGEN = defineCommand({
  name: "keygen",
  about: "npm run keygen: writes a new key, readable by you only; never overwrites a file.",
  usage: "npm run keygen -- FILE | --server-key FILE | --public FILE",
  positionals: [{ name: "FILE", help: "a cluster key for --cluster-key: copy the same file to every server of the cluster (and to whoever runs npm run status)" }],
  flags: {
    "server-key": {
      type: "string",
      value: "FILE",
      help: "a server's own key pair for the encrypted transport: FILE is the private key (keep it on that server only), FILE.pub the public key; prints the key=BASE64 field for its servers.txt line",
    },
    public: { type: "string", value: "FILE", help: "prints the key=BASE64 field of the server key in FILE" },
  },
});
const { values, positionals } = parseCommandLine(KEYGEN);
const chosen = [values["server-key"], values.public, ...positionals].filter((x) => x !== undefined);
if (chosen.length !== 1) fail("keygen", `give one of FILE, --server-key FILE or --public FILE; usage: ${KEYGEN.usage}`);
try {
  if (values["server-key"] !== undefined) {
    const file = values["server-key"];
    const { publicKey } = createStaticKeyFile(file);
    console.log(`wrote ${file} (private: keep it on this server only) and ${file}.pub`);
    console.log(`add this field to the server's line in servers.txt:\n${keyField(publicKey)}`);
  } else if (values.public !== undefined) {
    const { keyPair, warning } = readStaticKeyFile(values.public);
    if (warning) console.error(`keygen: ${warning}`);
    console.log(keyField(keyPair.publicKey));
  } else {
    createKeyFile(positionals[0]);
    console.log(`wrote ${positionals[0]}: give it to every server with --cluster-key ${positionals[0]}`);
  }
} catch (e) {
  fail("keygen", (e as Error).message, 1);
}
