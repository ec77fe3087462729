/**
 * Test helper: alters a stored sealed message the way a hostile server or a
 * disk fault might, so tests can check the client shows it as tampered.
 */
import { DatabaseSync } from "node:sqlite";

/**
 * Flips one base64 character inside the ciphertext of `user`'s first sealed
 * message in the (stopped) server's database at `dbPath`.
 */
export function flipFirstSealedText(dbPath: string, user: string): void {
  const sql = new DatabaseSync(dbPath);
  try {
    const row = sql.prepare(
      "SELECT aseq, msg FROM ops WHERE kind = 'msg' AND user = ? AND msg LIKE 'dc1:%' ORDER BY aseq LIMIT 1",
    ).get(user) as { aseq: number; msg: string };
    const at = 4 + 48 + 3; // past salt, check and nonce: inside the ciphertext
    const flipped = row.msg.slice(0, at) + (row.msg[at] === "A" ? "B" : "A") + row.msg.slice(at + 1);
    sql.prepare("UPDATE ops SET msg = ? WHERE aseq = ?").run(flipped, row.aseq);
  } finally {
    sql.close();
  }
}
