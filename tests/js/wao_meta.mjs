// WAO's node-settings flow (its test/hyperbeam/meta.test.js and the
// "Devices and Pathing" tutorial tests) against a running node, with WAO's HB
// client (wao 0.35.7, esm/hb.js, signing with hbsig 0.1.5), for
// tests/interop/test_wao_meta.py.
//
// Input (stdin): {"url": node URL, "operator": the node's key (JWK),
// "stranger": another key}.
// Steps, each recorded: read /~meta@1.0/info (hb.g), a stranger's signed
// POST, the operator's POST of {test_config: 123, test_config3: {abc: 123}},
// reading one key back, the JSON form (/~meta@1.0/info/~json@1.0/serialize,
// as hb.getJSON reads it), the operator's POST of initialized: permanent,
// a later POST (must be refused), /~meta@1.0/build.
// Output (stdout): a JSON object of the results, or {"error", "step"}.
import HB from "./node_modules/wao/esm/hb.js"

console.log = (...args) => console.error(...args)

const pick = (obj, keys) => Object.fromEntries(keys.map(k => [k, obj?.[k]]))

// A POST's outcome: its status, or the error HB threw for it.
async function attempt(hb, path, body) {
  try {
    const res = await hb.post({ path, ...body })
    return { status: res?.status ?? null, body: res?.body ?? null }
  } catch (err) {
    return { rejected: String(err?.message ?? err) }
  }
}

async function run(url, operatorJwk, strangerJwk, result) {
  result.step = "init"
  const hb = await new HB({ url }).init(operatorJwk)
  const stranger = await new HB({ url }).init(strangerJwk)
  result.address = hb.addr

  result.step = "info"
  result.info = pick(await hb.g("/~meta@1.0/info"), ["initialized", "port", "address", "operator"])

  result.step = "stranger post"
  result.stranger = await attempt(stranger, "/~meta@1.0/info", { test_config: 666 })

  result.step = "operator post"
  result.set = await attempt(hb, "/~meta@1.0/info", { test_config: 123, test_config3: { abc: 123 } })
  const info2 = await hb.g("/~meta@1.0/info")
  result.after = pick(info2, ["test_config", "test_config3"])
  result.key = await hb.g("/~meta@1.0/info/test_config")

  result.step = "json"
  const json = await hb.getJSON({ path: "/~meta@1.0/info" })
  result.json = pick(json, ["test_config", "test_config3", "address", "port", "initialized"])

  result.step = "permanent"
  result.permanent = await attempt(hb, "/~meta@1.0/info", { initialized: "permanent" })
  result.late = await attempt(hb, "/~meta@1.0/info", { test_config: 124 })
  result.final = pick(await hb.g("/~meta@1.0/info"), ["test_config", "initialized"])

  result.step = "build"
  result.build = pick(await hb.g("/~meta@1.0/build"), ["node", "version", "source"])
  delete result.step
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const { url, operator, stranger } = JSON.parse(input)
  const result = {}
  try {
    await run(url, operator, stranger, result)
  } catch (err) {
    result.error = String(err && err.stack ? err.stack : err)
  }
  process.stdout.write(JSON.stringify(result))
})
