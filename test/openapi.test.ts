/**
 * `{resource}/openapi.json`: public, OpenAPI 3.1 valid (checked by @seriousme/openapi-schema-validator,
 * a validator of the official OpenAPI 3.x JSON Schemas), generated from the server's own zod schemas,
 * covering every data type's routes and the JSON bodies of the OAuth endpoints.
 */

import { memoryStore } from '@consentry/server'
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { shopOrdersDataType } from './helpers/orders-type.ts'

const TODAY = '2026-11-20'
let holder: HarborPay
let doc: {
  paths: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, unknown> }
  servers: Array<{ url: string }>
}

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    today: TODAY,
    maintenance: false,
    overrides: { dataTypes: [shopOrdersDataType(TODAY)] },
  })
  const res = await fetch(`${holder.issuer}/api/openapi.json`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('application/json')
  doc = await res.json()
})
afterAll(() => holder.close())

describe('the OpenAPI document', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it('describes every route listed in consentry_routes, and the OAuth JSON bodies', async () => {
    const meta = await (await fetch(`${holder.issuer}/.well-known/oauth-protected-resource/api`)).json()
    expect(meta.consentry_routes.length).toBeGreaterThanOrEqual(3)
    for (const r of meta.consentry_routes) expect(doc.paths[`/api${r.path}`]?.get, r.path).toBeTruthy()
    for (const p of ['/register', '/par', '/token', '/introspect', '/grants/{grant_id}'])
      expect(doc.paths[p], p).toBeTruthy()
    for (const s of [
      'ClientRegistrationRequest',
      'ClientRegistrationResponse',
      'TokenResponse',
      'IntrospectionResponse',
      'GrantResponse',
      'TransactionHistoryDetail',
      'ShopOrdersDetail',
      'ShopOrdersOrders',
    ])
      expect(doc.components.schemas[s], s).toBeTruthy()
    // Generated from the zod schemas, not hand-written: the field enum is the core's own list.
    expect(JSON.stringify(doc.components.schemas.TransactionHistoryDetail)).toContain('balance_after')
    expect(doc.servers[0]?.url).toBe(holder.issuer)
  })

  it('refuses nothing but GET and never needs a token', async () => {
    const res = await fetch(`${holder.issuer}/api/openapi.json`, { method: 'POST' })
    expect(res.status).toBe(405)
  })
})
