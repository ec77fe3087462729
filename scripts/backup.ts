/**
 * `npm run backup -- --id a --out FILE`: an online backup of server a's
 * database (lib/store/backup.ts), consistent while the server runs. A
 * server started on the copy writes under a new incarnation, so restoring
 * it never reuses an op id (docs/OPERATIONS.md "Backups and restores").
 * Never overwrites a file.
 */
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { serverIdProblem } from "../lib/wire/names.ts";
import { defaultDbPath } from "../lib/config/server_flags.ts";
import { backupDatabase } from "../lib/store/backup.ts";

const BACKUP = defineCommand({
  name: "backup",
  about: "npm run backup: copies a server's database while it runs (SQLite's online backup), with its reply key beside the copy.",
  usage: "npm run backup -- --id ID --out FILE [--db PATH]",
  flags: {
    id: { type: "string", value: "ID", help: "the server whose database to copy (required)" },
    db: { type: "string", value: "PATH", help: "its database, as given to the server (default data/<id>.sqlite)" },
    out: { type: "string", value: "FILE", help: "where to write the copy (required; must not exist); FILE.key gets the reply key" },
  },
  notes: "Restore: stop the server, remove its database files (<db>, <db>-wal, <db>-shm, <db>.hwm), copy FILE to <db> " +
    "and FILE.key to <db>.key, start it. It writes under a new incarnation (docs/OPERATIONS.md \"Backups and restores\").",
});
const { values } = parseCommandLine(BACKUP);
if (values.id === undefined || values.out === undefined) fail("backup", `--id and --out are required; usage: ${BACKUP.usage}`);
const idProblem = serverIdProblem(values.id);
if (idProblem) fail("backup", `--id: ${idProblem}`);
const db = values.db ?? defaultDbPath(values.id);
try {
  const r = await backupDatabase(db, values.out, Date.now());
  console.log(`backup: wrote ${values.out} (${r.ops} ops, origin ${r.origin ?? "none yet"})${r.key ? ` and ${values.out}.key` : ""} from ${db}`);
  process.exit(0);
} catch (e) {
  fail("backup", (e as Error).message, 1);
}
