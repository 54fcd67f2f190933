// The AO client flow with @permaweb/aoconnect (mainnet mode) against a
// running node, for tests/integration/test_aoconnect_aos.py: spawn an AOS
// process, send it messages, read their results.
//
// Input (stdin): {"url", "jwk", "module", "scheduler", "evals": [code, ...]}.
// Output (stdout): {"process": id, "results": [{"slot", "result"}, ...]} or
// {"error": text, "stage": ...}.
import { connect, createSigner } from "@permaweb/aoconnect"

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const { url, jwk, module, scheduler, evals } = JSON.parse(input)
  const ao = connect({ MODE: "mainnet", URL: url, SCHEDULER: scheduler, signer: createSigner(jwk) })
  let stage = "spawn"
  try {
    const pid = await ao.spawn({ module, scheduler, tags: [{ name: "Name", value: "aoconnect-test" }] })
    const results = []
    for (const code of evals) {
      stage = `message ${code}`
      const slot = await ao.message({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: code })
      stage = `result ${slot}`
      const result = await ao.result({ process: pid, message: slot })
      results.push({ slot, result })
    }
    process.stdout.write(JSON.stringify({ process: pid, results }))
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack || err), stage }))
  }
})
