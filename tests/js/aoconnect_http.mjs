// Send requests with @permaweb/aoconnect (mainnet mode) to a running node,
// for tests/interop/test_js_clients_http.py.
//
// Input (stdin): {"url": node URL, "jwk": {...}, "tasks": [task, ...]}.
// A task is {"request": {path, method, ...fields}, "forge"?: true}: aoconnect's
// `request` signs it with createSigner(jwk) (httpsig, or ANS-104 when the
// request says "signing-format": "ans104") and sends it. With `forge`, one
// bit of every signature is flipped after signing. Output (stdout): a JSON
// array of {"status", "body"} or {"error"}, one per task.
import { connect, createSigner } from "@permaweb/aoconnect"

function forged(signer) {
  return async (create, type) => {
    const result = await signer(create, type)
    const signature = Buffer.from(result.signature)
    signature[10] ^= 1
    return { ...result, signature }
  }
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const { url, jwk, tasks } = JSON.parse(input)
  const results = []
  for (const task of tasks) {
    const signer = task.forge ? forged(createSigner(jwk)) : createSigner(jwk)
    const ao = connect({ MODE: "mainnet", URL: url, signer })
    try {
      const res = await ao.request(task.request)
      results.push({ status: res.status, body: await res.text() })
    } catch (err) {
      results.push({ error: String(err) })
    }
  }
  process.stdout.write(JSON.stringify(results))
})
