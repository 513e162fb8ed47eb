// Driven by signer/interop_test.go: reads a JSON array of cases on stdin,
// signs or verifies each with the independent RFC 9421 implementation
// http-message-sig, and prints a JSON array of results on stdout.
//
// Keys: hmac-sha256 secrets are base64; ed25519 private keys are PKCS#8 DER
// and public keys SPKI DER, base64. Crypto is node:crypto, not our code.
import { createHash, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify } from "node:crypto";
import { createSignature, verifySignature } from "http-message-sig";

function signerFor(c) {
  if (c.alg === "hmac-sha256") {
    const key = Buffer.from(c.key, "base64");
    return { algorithm: c.alg, sign: (data) => new Uint8Array(createHmac("sha256", key).update(data).digest()) };
  }
  const priv = createPrivateKey({ key: Buffer.from(c.key, "base64"), format: "der", type: "pkcs8" });
  return { algorithm: c.alg, sign: (data) => new Uint8Array(sign(null, data, priv)) };
}

function verifierFor(c) {
  if (c.alg === "hmac-sha256") {
    const key = Buffer.from(c.key, "base64");
    return {
      algorithm: c.alg,
      verify: (data, sig) => {
        const mac = createHmac("sha256", key).update(data).digest();
        return sig.length === mac.length && timingSafeEqual(mac, Buffer.from(sig));
      },
    };
  }
  const pub = createPublicKey({ key: Buffer.from(c.key, "base64"), format: "der", type: "spki" });
  return { algorithm: c.alg, verify: (data, sig) => verify(null, data, pub, Buffer.from(sig)) };
}

async function run(c) {
  if (c.op === "digest") {
    return { value: "sha-256=:" + createHash("sha256").update(Buffer.from(c.body, "base64")).digest("base64") + ":" };
  }
  if (c.op === "sign") {
    const fields = await createSignature(c.request, {
      label: c.label,
      components: c.components,
      parameters: c.params,
      signer: signerFor(c),
    });
    return { signatureInput: fields.signatureInput, signature: fields.signature };
  }
  try {
    const v = await verifySignature(c.request, {
      label: c.label,
      policy: {
        algorithms: [c.alg],
        requiredComponents: c.required,
        requiredParameters: ["created", "keyid", "nonce"],
        maxAge: 60,
        clockSkew: 5,
        now: c.now,
      },
      resolveVerifier: (cand) => {
        if (cand.parameters.keyid !== c.keyid) throw new Error("unknown keyid");
        return verifierFor(c);
      },
    });
    return { ok: true, label: v.label, nonce: v.parameters.nonce ?? "" };
  } catch (e) {
    return { ok: false, error: String(e && e.code ? e.code + ": " + e.message : e) };
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) out.push(await run(c));
process.stdout.write(JSON.stringify(out));
