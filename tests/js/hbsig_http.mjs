// Send requests signed by hbsig (0.1.5) to a running node, for
// tests/interop/test_js_clients_http.py.
//
// Input (stdin): {"url": node URL, "jwk": {...}, "tasks": [task, ...]}.
// A task is {"fields": message, "tamper"?: {header: value}}: hbsig's
// createSigner(jwk, url) signs the message (its `path` becomes the request
// path and the `@path` component), `tamper` then overwrites headers, and the
// request goes to the node with fetch. Output (stdout): a JSON array of
// {"status", "headers", "body"} (body as text), one per task.
import { createSigner } from "hbsig/esm/signer.js"

async function run(url, jwk, task) {
  const signer = createSigner(jwk, url)
  const signed = await signer(task.fields)
  const headers = { ...signed.headers, ...(task.tamper ?? {}) }
  const init = { method: signed.method, headers, redirect: "manual" }
  if (signed.body !== undefined && signed.method !== "GET") init.body = signed.body
  const res = await fetch(signed.url, init)
  const out = {}
  res.headers.forEach((value, name) => (out[name] = value))
  return { status: res.status, headers: out, body: await res.text() }
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
    try {
      results.push(await run(url, jwk, task))
    } catch (err) {
      results.push({ error: String(err && err.stack ? err.stack : err) })
    }
  }
  process.stdout.write(JSON.stringify(results))
})
