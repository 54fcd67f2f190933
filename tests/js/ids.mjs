// Print hbsig's ID for each message read from stdin.
//
// Input: a JSON array of messages. Output: a JSON array with, for each
// message, {"id": "<43 chars>"} or {"error": "<message>"}.
//
// hbsig's `id` hmacs the keys of a message already in httpsig form, so each
// message goes through hbsig's own structured@1.0 and httpsig@1.0 encoders
// first. As upstream's dev_codec_httpsig:hmac/1 does, `body-keys` is dropped
// and the body is left out (its `content-digest`, which httpsig_to adds, is
// kept in its place). Only the modules needed are imported, so the wallet
// and network dependencies of hbsig's index are never loaded.
import { id } from "hbsig/esm/id.js"
import { httpsig_to } from "hbsig/esm/httpsig.js"
import { structured_from } from "hbsig/esm/structured.js"

function hbsigId(msg) {
  const encoded = httpsig_to(structured_from(msg))
  delete encoded.body
  delete encoded["body-keys"]
  return id(encoded)
}

let input = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", chunk => {
  input += chunk
})
process.stdin.on("end", () => {
  const results = JSON.parse(input).map(msg => {
    try {
      return { id: hbsigId(msg) }
    } catch (err) {
      return { error: String(err) }
    }
  })
  process.stdout.write(JSON.stringify(results))
})
