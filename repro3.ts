import { connect } from 'node:net'
import { memoryStore } from '@consentry/server'
import { startHarborPay } from './examples/payment-provider/src/app.ts'
const h = await startHarborPay({ store: memoryStore(), port: 0, publicHost: '127.0.0.1', maintenance: false })
const u = new URL(h.issuer)
function raw(data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(Number(u.port), '127.0.0.1')
    let out = ''
    s.on('data', (d) => { out += d.toString('latin1') })
    s.on('error', (e) => { out += `\n<<ERR ${e.message}>>` })
    s.on('close', () => resolve(out))
    s.write(data)
    setTimeout(() => s.end(), 1000)
  })
}
for (const line of ['CONNECT 127.0.0.1:443 HTTP/1.1', 'TRACE / HTTP/1.1', 'trace / HTTP/1.1', 'get /jwks HTTP/1.1', 'TRACK / HTTP/1.1', 'PROPFIND /jwks HTTP/1.1', 'MKCOL /token HTTP/1.1', 'OPTIONS /token HTTP/1.1']) {
  const out = await raw(`${line}\r\nHost: ${u.host}\r\n\r\nGET /jwks HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`)
  console.log(line, '=>', out.split('\r\n').filter((l) => l.startsWith('HTTP/') || l.startsWith('{')).map((l) => l.slice(0, 100)))
}
await h.close()
