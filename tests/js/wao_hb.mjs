// Spawn a process on a running node with WAO's HB client (wao 0.35.7,
// esm/hb.js, which signs with hbsig 0.1.5) and schedule messages to it, for
// tests/interop/test_wao_client.py.
//
// Input (stdin): {"url": node URL, "jwk": {...}}.
// Steps: new HB({url}), hb.init(jwk) (reads the node's address from
// /~meta@1.0/info/address), hb.spawn({}) (POST /~process@1.0/schedule), then
// hb.schedule twice with {Action: "Ping"} and once with data. compute, now,
// message and getJSON are not called: they need ~json@1.0/serialize.
// Output (stdout): a JSON object {"operator", "address", "pid", "spawn",
// "scheduled": [{"slot", "status", "out", "ids"}, ...], "committed"} where
// `out` is the reply decoded by hbsig (scalar keys only), `ids` the
// commitment IDs of the message HB signed for that step (watched, not
// changed, by wrapping hb.commit), or {"error", "step", ...} when a step
// throws.
// wao's package.json "exports" does not expose esm/hb.js: load it by path.
import HB from "./node_modules/wao/esm/hb.js"

// HB logs some failures with console.log; keep stdout for the JSON result.
console.log = (...args) => console.error(...args)

const scalars = out => {
  const kept = {}
  for (const [k, v] of Object.entries(out ?? {})) {
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) kept[k] = v
  }
  return kept
}

async function run(url, jwk, result) {
  const hb = new HB({ url })
  const committed = []
  result.committed = committed
  const commit = hb.commit.bind(hb)
  hb.commit = async (...args) => {
    const msg = await commit(...args)
    committed.push(Object.keys(msg?.commitments ?? {}))
    return msg
  }
  result.step = "init"
  await hb.init(jwk)
  result.operator = hb.operator
  result.address = hb.addr

  result.step = "spawn"
  const spawned = await hb.spawn({})
  result.pid = spawned.pid
  result.spawn = { status: spawned.res.status, out: scalars(spawned.res.out), ids: committed.at(-1) }

  const steps = [
    { tags: { Action: "Ping" } },
    { tags: { Action: "Ping" } },
    { tags: { Action: "Ping" }, data: "hello from wao" },
  ]
  result.scheduled = []
  for (const [i, step] of steps.entries()) {
    result.step = `schedule ${i + 1}`
    const done = await hb.schedule({ pid: spawned.pid, ...step })
    result.scheduled.push({
      slot: done.slot,
      status: done.res.status,
      out: scalars(done.res.out),
      ids: committed.at(-1),
    })
  }
  delete result.step
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const { url, jwk } = JSON.parse(input)
  const result = {}
  try {
    await run(url, jwk, result)
  } catch (err) {
    result.error = String(err && err.stack ? err.stack : err)
  }
  process.stdout.write(JSON.stringify(result))
})
