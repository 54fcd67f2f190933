// Print hbsig's hashpath for each chain read from stdin.
//
// Input: a JSON array of {"base": msg, "requests": [msg, ...]}. Output: a JSON
// array of {"hashpath": "<id>/<id>"} or {"error": "<message>"}: the hashpath
// of the result of applying each request in turn to the base, chained with
// hbsig's `base` (sha-256 of the previous two IDs), as hb_path:hashpath/4 does.
import { id, base } from "hbsig/esm/id.js"
import { httpsig_to } from "hbsig/esm/httpsig.js"
import { structured_from } from "hbsig/esm/structured.js"

function hbsigId(msg) {
  const encoded = httpsig_to(structured_from(msg))
  delete encoded.body
  delete encoded["body-keys"]
  return id(encoded)
}

function chain(baseMsg, requests) {
  let hashpath = hbsigId(baseMsg)
  for (const request of requests) {
    const step = hbsigId(request)
    hashpath = hashpath.includes("/") ? `${base(hashpath)}/${step}` : `${hashpath}/${step}`
  }
  return hashpath
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", () => {
  const results = JSON.parse(input).map(({ base: baseMsg, requests }) => {
    try {
      return { hashpath: chain(baseMsg, requests) }
    } catch (err) {
      return { error: String(err) }
    }
  })
  process.stdout.write(JSON.stringify(results))
})
