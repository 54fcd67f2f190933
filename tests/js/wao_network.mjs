// WAO's relay, faff, simple-pay and router cases (weavedb/wao
// test/hyperbeam/{relay,faff,simple-pay,router}.test.js) with WAO's HB
// client (npm wao 0.35.7, esm/hb.js) against our nodes, for
// tests/interop/test_wao_network.py. The Python side starts the nodes as
// WAO's own harness configures them and checks what this records.
//
// Input (stdin): {"relay": {url, target}, "faff": {url, operator, allowed,
// disallowed}, "pay": {url, operator, user}, "router": {url, operator,
// stranger}}: URLs and keys (JWKs).
// Output (stdout): the observations of each case, or {"error", "step"}.
import HB from "./node_modules/wao/esm/hb.js"

console.log = (...args) => console.error(...args)

const client = (url, jwk) => new HB({ url }).init(jwk)

async function outcome(promise) {
  try {
    return { ok: await promise }
  } catch (err) {
    return { rejected: String(err?.message ?? err) }
  }
}

async function relayCase({ url, target }, out) {
  const hb = await new HB({ url })
  const call = await hb.getJSON({ path: "/~relay@1.0/call", "relay-path": target })
  out.call = JSON.parse(call.body)
  const cast = await hb.getJSON({ path: "/~relay@1.0/cast", "relay-path": target })
  out.cast = cast.body
}

async function faffCase({ url, operator, allowed, disallowed }, out) {
  const [op, ok, no] = await Promise.all([operator, allowed, disallowed].map(j => client(url, j)))
  const msg = ["/~message@1.0/set/hello", { hello: "world" }]
  out.get = [!!(await op.g(...msg)), !!(await ok.g(...msg)), !!(await no.g(...msg))]
  out.post = [await outcome(op.p(...msg)), await outcome(ok.p(...msg)), await outcome(no.p(...msg))]
  out.list = (await op.g("/~meta@1.0/info")).faff_allow_list
  await op.p("/~meta@1.0/info", { faff_allow_list: [op.addr] })
  out.list2 = (await op.g("/~meta@1.0/info")).faff_allow_list
  out.after = await outcome(ok.p(...msg))
  out.addresses = { operator: op.addr, allowed: ok.addr }
}

async function payCase({ url, operator, user }, out) {
  const op = await client(url, operator)
  const usr = await client(url, user)
  const msg = ["/~message@1.0/set/hello", { hello: "world" }]
  const balance = "/~simple-pay@1.0/balance"
  await op.p("/~simple-pay@1.0/topup", { amount: 15, recipient: usr.addr })
  out.balances = [await usr.p(balance)]
  out.first = await outcome(usr.p(...msg)) // 2 per message, 3 messages
  out.balances.push(await usr.p(balance))
  out.price = (await op.g("/~meta@1.0/info")).simple_pay_price
  await op.p("/~meta@1.0/info", { simple_pay_price: 3 })
  out.price2 = (await op.g("/~meta@1.0/info")).simple_pay_price
  out.second = await outcome(usr.p(...msg)) // 3 per message
  out.balances.push(await usr.p(balance))
  out.third = await outcome(usr.p(...msg)) // nothing left
}

async function routerCase({ url, operator, stranger }, out) {
  const hb = await client(url, operator)
  await hb.p("/~meta@1.0/info", { route_owners: [hb.addr] })
  out.info = (await hb.g("/~router@1.0/info")).body
  out.added = await hb.p("/~router@1.0/routes", { template: "/new/.*", node: "new-server", priority: 5 })
  out.routes = await hb.g("/~router@1.0/routes")
  await hb.p("/~router@1.0/routes", { template: "/priority-test-1/.*", node: "high", priority: 1 })
  await hb.p("/~router@1.0/routes", { template: "/priority-test-2/.*", node: "low", priority: 10 })
  out.ordered = await hb.g("/~router@1.0/routes")
  const other = await client(url, stranger)
  out.stranger = await outcome(
    other.p("/~router@1.0/routes", { template: "/bad/.*", node: "bad-server", priority: 5 })
  )
  await hb.p("/~meta@1.0/info", { route_owners: [hb.addr, other.addr] })
  out.second_owner = await outcome(
    other.p("/~router@1.0/routes", { template: "/second/.*", node: "second-server", priority: 6 })
  )
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", async () => {
  const cases = JSON.parse(input)
  const result = {}
  let step = ""
  try {
    for (const [name, run] of [
      ["relay", relayCase],
      ["faff", faffCase],
      ["pay", payCase],
      ["router", routerCase],
    ]) {
      step = name
      result[name] = {}
      await run(cases[name], result[name])
    }
  } catch (err) {
    result.error = String(err && err.stack ? err.stack : err)
    result.step = step
  }
  process.stdout.write(JSON.stringify(result))
})
