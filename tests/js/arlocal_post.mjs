// Post ANS-104 data items to an arlocal gateway, for tests/integration/test_gateway_store.py.
//
// arlocal indexes the data items of an ANS-104 bundle carried by an Arweave
// transaction (tags Bundle-Format: binary, Bundle-Version: 2.0.0): each item
// becomes a GraphQL transaction (bundledIn = the carrier) whose data is served
// at GET /<id>. It checks that every signer has a wallet, so this script mints
// one for the transaction's signer and for each item's owner, posts the
// carrier with the real `arweave` client and mines a block (GET /mine).
//
// Input (stdin): {"url": "http://127.0.0.1:PORT", "jwk": {...}, "items": [ITEM...]}
// Output (stdout): {"bundle": <carrier tx id>, "ids": [<item id>...]} or {"error": "<message>"}
//
// ITEM is either {"raw": b64} (a data item already signed elsewhere, kept
// byte for byte) or {"data": b64, "tags": [{"name", "value"}], "target"?:
// b64url, "anchor"?: b64} (signed here by arbundles with the JWK).
import Arweave from "arweave"
import { ArweaveSigner, DataItem, bundleAndSignData, createData } from "arbundles"

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString("utf8"))
}

async function get(url) {
  const res = await fetch(url)
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return res
}

function buildItem(spec, signer) {
  if (spec.raw) {
    const item = new DataItem(Buffer.from(spec.raw, "base64"))
    // Mark it signed (ID = sha256 of its signature), so that bundling keeps it as it is.
    item.rawId = item.rawId
    return item
  }
  const opts = { tags: spec.tags ?? [] }
  if (spec.target) opts.target = spec.target
  if (spec.anchor) opts.anchor = Buffer.from(spec.anchor, "base64")
  return createData(Buffer.from(spec.data ?? "", "base64"), signer, opts)
}

async function main() {
  const request = await readStdin()
  const url = new URL(request.url)
  const arweave = Arweave.init({
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol.replace(":", ""),
    logging: false,
  })
  const signer = new ArweaveSigner(request.jwk)
  const items = request.items.map(spec => buildItem(spec, signer))
  const bundle = await bundleAndSignData(items, signer)
  const owners = new Set([await arweave.wallets.jwkToAddress(request.jwk)])
  for (const item of items) owners.add(await arweave.wallets.ownerToAddress(item.owner))
  for (const address of owners) await get(`${request.url}/mint/${address}/1000000000000000`)
  const tx = await bundle.toTransaction({}, arweave, request.jwk)
  await arweave.transactions.sign(tx, request.jwk)
  const posted = await arweave.transactions.post(tx)
  if (posted.status !== 200) {
    throw new Error(`POST /tx: ${posted.status} ${JSON.stringify(posted.data)}`)
  }
  await get(`${request.url}/mine`)
  return { bundle: tx.id, ids: items.map(item => item.id) }
}

main().then(
  out => process.stdout.write(JSON.stringify(out)),
  err => {
    process.stdout.write(JSON.stringify({ error: String(err?.stack ?? err) }))
    process.exitCode = 1
  },
)
