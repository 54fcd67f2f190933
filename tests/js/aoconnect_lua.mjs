// A hyper-aos process driven by @permaweb/aoconnect (0.0.98, mainnet mode)
// against a running node, for tests/integration/test_hyper_aos.py: spawn and
// message with aoconnect's `request` (httpsig-signed: hyper-aos trusts a
// message from its owner by its rsa-pss-sha512 commitment, which aoconnect's
// ANS-104 `spawn`/`message` do not make), read results with `result`.
//
// Input (stdin): {"url", "jwk", "module", "scheduler", "evals": [code, ...]}.
// Output (stdout): {"process": id, "results": [{"slot", "result"}, ...]} or
// {"error": text, "stage": ...}.
import { connect, createSigner } from "@permaweb/aoconnect"

const AO = { "data-protocol": "ao", variant: "ao.N.1" }

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
    const spawned = await ao.request({
      path: "/push",
      method: "POST",
      "signing-format": "httpsig",
      device: "process@1.0",
      type: "Process",
      "scheduler-device": "scheduler@1.0",
      "execution-device": "lua@5.3a",
      "push-device": "push@1.0",
      scheduler,
      authority: scheduler,
      module,
      ...AO,
    })
    const pid = spawned.headers.get("process")
    if (!spawned.ok || !pid) throw new Error(`spawn: ${spawned.status} ${await spawned.text()}`)
    const results = []
    for (const code of evals) {
      stage = `message ${code}`
      const sent = await ao.request({
        path: `/${pid}~process@1.0/push`,
        method: "POST",
        "signing-format": "httpsig",
        "accept-codec": "httpsig@1.0",
        target: pid,
        type: "Message",
        action: "Eval",
        data: code,
        ...AO,
      })
      const slot = sent.headers.get("slot")
      if (!sent.ok || slot === null) throw new Error(`message: ${sent.status} ${await sent.text()}`)
      stage = `result ${slot}`
      const result = await ao.result({ process: pid, message: slot })
      results.push({ slot, result })
    }
    process.stdout.write(JSON.stringify({ process: pid, results }))
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack || err), stage }))
  }
})
