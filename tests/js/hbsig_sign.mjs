// Sign and verify HTTP message signatures with hbsig (0.1.5), for
// tests/interop/test_hbsig_signatures.py.
//
// Input (stdin): a JSON array of tasks. Output (stdout): a JSON array with
// one result per task, in order; a task that throws gives {"error": "..."}.
//
//   {"op": "verify", "headers": {name: value}, "body": <base64> | null,
//    "url"?: string, "method"?: string}
//     -> {"verified": bool, "digest_salt": bool, "error"?: string,
//         "rsaid": string | null, "hmacid": string | null,
//         "digest_ok": bool | null}
//     `verified` is the answer of hbsig's RFC 9421 verifier (its patched
//     http-message-signatures verifyMessage) with the key named by the
//     signature's `keyid` (see keyLookup for `digest_salt`). That
//     verifier only reports the last signature of the headers, so give it
//     one signature at a time. (hbsig's own verify() wrapper is not used:
//     it reports success whenever verifyMessage does not throw, even when
//     the signature does not match.) rsaid/hmacid are hbsig's commitment
//     IDs for the headers; digest_ok compares the body's sha-256 with the
//     `content-digest` header, which hbsig does not check.
//
//   {"op": "sign", "jwk": {...}, "fields": {...}}
//     -> {"url", "method", "headers": {name: value}, "body": <base64> | null,
//         "verified": bool, "rsaid": string, "hmacid": string}
//     hbsig's createSigner(jwk) signs `fields` (a message; its `path`, default
//     /relay/process, becomes the `path` header and the `@path` component).
//
// Only hbsig modules that need no network are imported; aoconnect's
// createSigner signs locally with the JWK.
import crypto from "crypto"
import { createSigner } from "hbsig/esm/signer.js"
import { httpbis } from "hbsig/esm/http-message-signatures/index.js"
import { rsaid, hmacid } from "hbsig/esm/id.js"

const URL = "http://localhost:10001"

async function bodyBytes(body) {
  if (body === undefined || body === null) return null
  if (typeof body === "string") return Buffer.from(body, "utf8")
  if (body instanceof Blob) return Buffer.from(await body.arrayBuffer())
  if (ArrayBuffer.isView(body)) {
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  }
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  throw new Error(`unexpected body type ${typeof body}`)
}

function digestOk(headers, body) {
  const header = headers["content-digest"]
  if (body === null || header === undefined) return null
  const digest = crypto.createHash("sha256").update(body).digest("base64")
  return header === `sha-256=:${digest}:`
}

function tryId(fn, headers) {
  try {
    return fn(headers)
  } catch (err) {
    return null
  }
}

function publicKey(keyid) {
  return crypto.createPublicKey({
    key: { kty: "RSA", n: keyid, e: "AQAB" },
    format: "jwk",
  })
}

// RSA-PSS over SHA-512. Upstream (ar_wallet/rsa_pss) accepts any salt
// length, and so does `verified`; `digest_salt` also requires the salt to be
// as long as the digest, as upstream's (and our) signatures make it.
// aoconnect's signer uses the longest salt the key allows.
function keyLookup(saltLength) {
  return async params => ({
    id: params.keyid,
    algs: ["rsa-pss-sha512"],
    verify: async (data, signature) =>
      crypto.verify(
        "sha512",
        data,
        {
          key: publicKey(params.keyid),
          padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
          saltLength,
        },
        signature
      ),
  })
}

async function verifyWith(saltLength, request) {
  try {
    const result = await httpbis.verifyMessage(
      { keyLookup: keyLookup(saltLength), requiredFields: [] },
      request
    )
    return { ok: result === true }
  } catch (err) {
    return { ok: false, error: String(err) }
  }
}

async function verifyHeaders(request) {
  const any = await verifyWith(crypto.constants.RSA_PSS_SALTLEN_AUTO, request)
  const digest = await verifyWith(crypto.constants.RSA_PSS_SALTLEN_DIGEST, request)
  return {
    verified: any.ok,
    digest_salt: digest.ok,
    ...(any.error && { error: any.error }),
  }
}

async function runVerify(task) {
  const body = task.body === null ? null : Buffer.from(task.body, "base64")
  const headers = task.headers
  const checked = await verifyHeaders({
    url: task.url ?? `${URL}/`,
    method: task.method ?? "POST",
    headers,
  })
  return {
    ...checked,
    rsaid: tryId(rsaid, headers),
    hmacid: tryId(hmacid, headers),
    digest_ok: digestOk(headers, body),
  }
}

async function runSign(task) {
  const signer = createSigner(task.jwk, URL)
  const signed = await signer(task.fields)
  const body = await bodyBytes(signed.body)
  const headers = {}
  for (const [name, value] of Object.entries(signed.headers)) {
    headers[name] = String(value)
  }
  const check = await verifyHeaders({ ...signed, headers })
  return {
    url: signed.url,
    method: signed.method,
    headers,
    body: body === null ? null : body.toString("base64"),
    verified: Boolean(check.verified),
    rsaid: rsaid(headers),
    hmacid: hmacid(headers),
  }
}

async function run(task) {
  try {
    if (task.op === "verify") return await runVerify(task)
    if (task.op === "sign") return await runSign(task)
    return { error: `unknown op ${task.op}` }
  } catch (err) {
    return { error: String(err && err.stack ? err.stack : err) }
  }
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const results = []
  for (const task of JSON.parse(input)) results.push(await run(task))
  process.stdout.write(JSON.stringify(results))
})
