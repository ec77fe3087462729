/**
 * `npm run keygen -- FILE`: writes a new cluster key (32 random bytes as 64
 * hex digits, mode 0600) for `--cluster-key`.
 * `npm run keygen -- --server-key FILE`: writes a server's static key pair
 * for the encrypted transport (FILE private, mode 0600; FILE.pub) and prints
 * the `key=BASE64` field of its servers.txt line.
 * `npm run keygen -- --public FILE`: prints that field for an existing
 * server key. `npm run keygen -- --irc-oper NAME`: reads a password from
 * stdin (its first line) and prints the irc-opers.txt line of IRC operator
 * NAME (lib/config/irc_opers.ts): the password's SCRAM-SHA-256 verifier,
 * never the password. Never overwrites a file.
 */
import process from "node:process";
import { randomBytes } from "node:crypto";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { operLine, parseOpersFile } from "../lib/config/irc_opers.ts";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { createKeyFile } from "../lib/config/cluster_key.ts";
import { keyField } from "../lib/config/servers_file.ts";
import { createStaticKeyFile, readStaticKeyFile } from "../lib/config/static_key.ts";

const KEYGEN = defineCommand({
  name: "keygen",
  about: "npm run keygen: writes a new key, readable by you only; never overwrites a file.",
  usage: "npm run keygen -- FILE | --server-key FILE | --public FILE | --irc-oper NAME < password",
  positionals: [{ name: "FILE", help: "a cluster key for --cluster-key: copy the same file to every server of the cluster (and to whoever runs npm run status)" }],
  flags: {
    "server-key": {
      type: "string",
      value: "FILE",
      help: "a server's own key pair for the encrypted transport: FILE is the private key (keep it on that server only), FILE.pub the public key; prints the key=BASE64 field for its servers.txt line",
    },
    public: { type: "string", value: "FILE", help: "prints the key=BASE64 field of the server key in FILE" },
    "irc-oper": {
      type: "string",
      value: "NAME",
      help: "reads a password from stdin (its first line) and prints IRC operator NAME's line for irc-opers.txt (a password verifier, not the password)",
    },
  },
});
const { values, positionals } = parseCommandLine(KEYGEN);
const chosen = [values["server-key"], values.public, values["irc-oper"], ...positionals].filter((x) => x !== undefined);
if (chosen.length !== 1) fail("keygen", `give one of FILE, --server-key FILE, --public FILE or --irc-oper NAME; usage: ${KEYGEN.usage}`);
try {
  if (values["irc-oper"] !== undefined) {
    const name = values["irc-oper"];
    if (process.stdin.isTTY) process.stderr.write(`password for IRC operator ${name} (it is shown as you type; or pipe it in): `);
    const password = (await firstLine()).replace(/\r$/, "");
    if (password === "") fail("keygen", "--irc-oper: no password on stdin");
    const line = operLine(name, verifierToBase64(await makeVerifier(password, new Uint8Array(randomBytes(16)))));
    parseOpersFile(line, "--irc-oper"); // the name is one irc-opers.txt takes
    console.log(line);
  } else if (values["server-key"] !== undefined) {
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

/** The first line of stdin. */
async function firstLine(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) {
    text += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    if (text.includes("\n")) break;
  }
  return text.split("\n")[0];
}
