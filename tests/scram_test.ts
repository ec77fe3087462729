/**
 * SCRAM-SHA-256 (lib/accounts/scram.ts) against the example exchange of
 * RFC 7677 §3, and the refusals: a wrong password, a tampered nonce or
 * proof, too few iterations.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromBase64 } from "../lib/wire/base64.ts";
import { clientFinal, clientFirst, makeVerifier, parseClientFinal, parseClientFirst, saltedPassword, serverFirst, verifyClientFinal } from "../lib/accounts/scram.ts";

// RFC 7677 §3: user "user", password "pencil".
const SALT = fromBase64("W22ZaJ0SNY7soEsUEjb6gQ==")!;
const CNONCE = "rOprNGfwEbeRWgbNEkqO";
const SNONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

test("the RFC 7677 example exchange, message for message", async () => {
  const v = await makeVerifier("pencil", SALT, 4096);
  const c = clientFirst("user", CNONCE);
  assert.is(c.message, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const parsed = parseClientFirst(c.message);
  assert.equal(parsed, { bare: "n=user,r=rOprNGfwEbeRWgbNEkqO", name: "user", nonce: CNONCE });
  const s = serverFirst(c.bare, SNONCE, v);
  assert.is(s.message, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  const f = await clientFinal("pencil", c.bare, s.message);
  assert.is(f?.message, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const ok = verifyClientFinal(v, c.bare, s.message, f!.message);
  assert.equal(ok, { ok: true, serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" });
  assert.is(f?.serverSignature, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
});

test("refused: a wrong password, a tampered proof or nonce, a malformed message, too few or too many iterations", async () => {
  const v = await makeVerifier("pencil", SALT, 4096);
  const c = clientFirst("user", CNONCE);
  const s = serverFirst(c.bare, SNONCE, v);
  const wrong = (await clientFinal("pencil!", c.bare, s.message))!;
  assert.equal(verifyClientFinal(v, c.bare, s.message, wrong.message), { ok: false });
  const good = (await clientFinal("pencil", c.bare, s.message))!.message;
  const flipped = good.replace(/p=(.)/, (_, ch) => `p=${ch === "A" ? "B" : "A"}`);
  assert.equal(verifyClientFinal(v, c.bare, s.message, flipped), { ok: false });
  assert.equal(verifyClientFinal(v, c.bare, s.message, good.replace("r=rOpr", "r=xOpr")), { ok: false });
  assert.equal(verifyClientFinal(v, c.bare, s.message, "c=biws"), { ok: false });
  assert.is(parseClientFirst("p=tls-unique,,n=user,r=x"), null, "channel binding is not offered");
  assert.is(parseClientFirst("n,,n=user"), null);
  assert.is(await clientFinal("pencil", c.bare, s.message.replace("i=4096", "i=1")), null, "a server asking for 1 round is refused");
  assert.is(await clientFinal("pencil", c.bare, s.message.replace("i=4096", "i=10000001")), null, "a server asking for more than 10,000,000 rounds is refused");
  assert.is(await clientFinal("pencil", c.bare, s.message.replace("r=rOpr", "r=zzz")), null, "a server nonce not extending ours is refused");
  assert.is(await clientFinal("pencil", c.bare, s.message.replace("s=W22Z", "s=W22")), null, "a salt that is not base64 is refused");
  let refused = "";
  await makeVerifier("pencil", SALT, 1000).catch((e) => (refused = (e as Error).message));
  assert.match(refused, /at least 4096/);
});

test("a client-final has one shape, c=biws,r=NONCE[,w=SOLUTION],p=PROOF; any other is refused before any check", async () => {
  const v = await makeVerifier("pencil", SALT, 4096);
  const c = clientFirst("user", CNONCE);
  const s = serverFirst(c.bare, SNONCE, v);
  const good = (await clientFinal("pencil", c.bare, s.message))!.message;
  const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", p = good.slice(good.indexOf(",p=") + 3);
  assert.equal(parseClientFinal(good), { nonce, withoutProof: `c=biws,r=${nonce}`, proof: fromBase64(p)! });
  assert.is(parseClientFinal(`c=biws,r=${nonce},w=0az9,p=${p}`)?.withoutProof, `c=biws,r=${nonce},w=0az9`);
  const other = [
    `c=biws,w=0,p=${p},r=${nonce}`, // issue 20 re-run: the work hashed without the nonce
    `r=${nonce},c=biws,p=${p}`,
    `c=biws,w=0,r=${nonce},p=${p}`,
    `c=biws,r=${nonce},x=1,p=${p}`,
    `c=biws,r=${nonce},w=0,w=1,p=${p}`,
    `c=biws,r=${nonce},w=${"a".repeat(33)},p=${p}`,
    `c=biws,r=${nonce},w=A,p=${p}`,
    `c=biws,r=${nonce},w=,p=${p}`,
    `c=biws,r=${nonce},p=${p},p=${p}`,
    `c=biws,r=${nonce},p=${p.slice(0, -2)}==`,
    `c=biws,r=${nonce},p=AQ==`,
    `c=eSws,r=${nonce},p=${p}`,
    `c=biws,r=,p=${p}`,
    `c=biws,r=${nonce},p=${p}\n`,
    "c=biws",
    "",
  ];
  for (const m of other) {
    assert.is(parseClientFinal(m), null, m);
    assert.equal(verifyClientFinal(v, c.bare, s.message, m), { ok: false }, m);
  }
});

test("the PBKDF2 of WebCrypto and of @noble/hashes (a page on plain http has no WebCrypto) give the same SaltedPassword", async () => {
  const native = await saltedPassword("pâss wörd", SALT, 4096);
  const subtle = globalThis.crypto.subtle;
  Object.defineProperty(globalThis.crypto, "subtle", { value: undefined, configurable: true });
  try {
    assert.equal(await saltedPassword("pâss wörd", SALT, 4096), native);
  } finally {
    Object.defineProperty(globalThis.crypto, "subtle", { value: subtle, configurable: true });
  }
});

test("names with , and = are escaped and read back", () => {
  const c = clientFirst("a,b=c", "n0nce");
  assert.is(c.bare, "n=a=2Cb=3Dc,r=n0nce");
  assert.is(parseClientFirst(c.message)?.name, "a,b=c");
});

test.run();
