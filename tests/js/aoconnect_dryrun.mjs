// @permaweb/aoconnect 0.0.98's `dryrun` against a running node, in both of
// its modes, for tests/interop/test_aoconnect_dryrun.py:
//
// - mainnet (`connect({MODE: "mainnet", URL, signer})`): an ANS-104-signed
//   POST to `/<pid>~process@1.0/as=execution/compute&<tag>=<value>...`,
//   read from the `raw` AOS response of the JSON reply;
// - legacy (`connect({MODE: "legacy", CU_URL: url})`): an unsigned
//   `POST /dry-run?process-id=<pid>` with `{Id, Target, Owner, Anchor, Data,
//   Tags}`, answered as a legacy compute unit answers.
//
// It first spawns an AOS process itself (mainnet `spawn`, then `message`
// "Counter = 41"), then, for that process and the `processes` it is given,
// dry-runs `reads` (code evaluated with Action=Eval) in both modes, and
// `Counter = 1000`, which must change nothing; then sends `return Counter`
// for real to its own process.
//
// Input (stdin): {"url", "jwk", "owner", "module", "scheduler", "processes": [id, ...]}.
// Output (stdout): {"spawned": id, "slot": n, "dryruns": {id: {"mainnet",
// "legacy", "write", "after"}}, "after": result} or {"error": text, "stage": ...}.
import { connect, createSigner } from "@permaweb/aoconnect"

const EVAL = [{ name: "Action", value: "Eval" }]

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const { url, jwk, owner, module, scheduler, processes } = JSON.parse(input)
  const mainnet = connect({ MODE: "mainnet", URL: url, SCHEDULER: scheduler, signer: createSigner(jwk) })
  const legacy = connect({ MODE: "legacy", CU_URL: url })
  let stage = "spawn"
  try {
    const spawned = await mainnet.spawn({ module, scheduler })
    stage = "message"
    const slot = await mainnet.message({ process: spawned, tags: EVAL, data: "Counter = 41" })
    await mainnet.result({ process: spawned, message: slot })
    const dryruns = {}
    for (const pid of [spawned, ...processes]) {
      stage = `mainnet dryrun ${pid}`
      const read = await mainnet.dryrun({ process: pid, tags: EVAL, data: "return Counter + 1" })
      stage = `legacy dryrun ${pid}`
      const legacyRead = await legacy.dryrun({
        process: pid,
        Owner: owner,
        tags: EVAL,
        data: "return Counter + 1",
      })
      stage = `mainnet dryrun write ${pid}`
      const write = await mainnet.dryrun({ process: pid, tags: EVAL, data: "Counter = 1000" })
      stage = `legacy dryrun after ${pid}`
      const after = await legacy.dryrun({ process: pid, Owner: owner, tags: EVAL, data: "return Counter" })
      dryruns[pid] = { mainnet: read, legacy: legacyRead, write, after }
    }
    stage = "message after"
    const last = await mainnet.message({ process: spawned, tags: EVAL, data: "return Counter" })
    const after = await mainnet.result({ process: spawned, message: last })
    process.stdout.write(JSON.stringify({ spawned, slot, dryruns, last, after }))
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String((err && err.stack) || err), stage }))
  }
})
