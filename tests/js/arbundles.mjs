// ANS-104 data items and bundles through arbundles, for tests/interop/test_arbundles.py.
//
// Input (stdin): a JSON array of requests; output (stdout): a JSON array with
// one result per request, or {"error": "<message>"}. Binary values travel as
// standard base64, targets as base64url (arbundles' own form), tags as UTF-8
// strings.
//
//   {"op": "create", "jwk": {...}, "items": [ITEM...]}
//       sign each ITEM with the JWK -> [{"raw": b64, "id": b64url}]
//   {"op": "inspect", "items": [b64...]}
//       parse each data item -> [PARSED]
//   {"op": "bundle", "jwk": {...}, "items": [ITEM...]}
//       bundleAndSignData -> {"raw": b64, "ids": [b64url...]}
//   {"op": "parse_bundle", "raw": b64}
//       -> {"valid": bool, "ids": [header ids], "items": [PARSED]}
//   {"op": "deep_hash", "value": NESTED}   (NESTED: b64 string or array of NESTED)
//       -> b64 of the sha384 deep hash
//   {"op": "tags", "tags": [{"name", "value"}]} -> b64 of the Avro tag encoding
//
// ITEM = {"data": b64, "tags": [{"name", "value"}], "target"?: b64url, "anchor"?: b64}
// PARSED = {"valid", "id", "signatureType", "owner", "signature", "target",
//           "anchor", "tags", "rawTags", "data"} (binaries as b64, id as b64url)
import {
  ArweaveSigner,
  Bundle,
  DataItem,
  bundleAndSignData,
  createData,
  deepHash,
  serializeTags,
} from "arbundles"

const b64 = buf => Buffer.from(buf).toString("base64")

function buildItem(spec, signer) {
  const opts = { tags: spec.tags ?? [] }
  if (spec.target) opts.target = spec.target
  if (spec.anchor) opts.anchor = Buffer.from(spec.anchor, "base64")
  return createData(Buffer.from(spec.data ?? "", "base64"), signer, opts)
}

function blobs(value) {
  return Array.isArray(value) ? value.map(blobs) : Buffer.from(value, "base64")
}

async function parsed(item) {
  let valid
  try {
    valid = await item.isValid()
  } catch (err) {
    valid = false
  }
  return {
    valid,
    id: item.id,
    signatureType: item.signatureType,
    owner: b64(item.rawOwner),
    signature: b64(item.rawSignature),
    target: b64(item.rawTarget),
    anchor: b64(item.rawAnchor),
    tags: item.tags,
    rawTags: b64(item.rawTags),
    data: b64(item.rawData),
  }
}

async function handle(request) {
  switch (request.op) {
    case "create": {
      const signer = new ArweaveSigner(request.jwk)
      const out = []
      for (const spec of request.items) {
        const item = buildItem(spec, signer)
        await item.sign(signer)
        out.push({ raw: b64(item.getRaw()), id: item.id })
      }
      return out
    }
    case "inspect": {
      const out = []
      for (const raw of request.items) {
        out.push(await parsed(new DataItem(Buffer.from(raw, "base64"))))
      }
      return out
    }
    case "bundle": {
      const signer = new ArweaveSigner(request.jwk)
      const items = request.items.map(spec => buildItem(spec, signer))
      const bundle = await bundleAndSignData(items, signer)
      return { raw: b64(bundle.getRaw()), ids: bundle.items.map(item => item.id) }
    }
    case "parse_bundle": {
      const bundle = new Bundle(Buffer.from(request.raw, "base64"))
      const items = []
      for (const item of bundle.items) items.push(await parsed(item))
      return { valid: await bundle.verify(), ids: bundle.getIds(), items }
    }
    case "deep_hash":
      return b64(await deepHash(blobs(request.value)))
    case "tags":
      return b64(serializeTags(request.tags))
    default:
      throw new Error(`unknown op ${request.op}`)
  }
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const results = []
  for (const request of JSON.parse(input)) {
    try {
      results.push(await handle(request))
    } catch (err) {
      results.push({ error: String(err && err.stack ? err.stack : err) })
    }
  }
  process.stdout.write(JSON.stringify(results))
})
