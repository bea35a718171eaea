import type { RouteContract } from '@consentry/core'
import { ConfigError } from '../errors.ts'
import type { DataType, RouteHandler } from './define.ts'

/** A data type's route, ready to match a request path. */
export interface CompiledRoute {
  dataType: DataType
  /** The route's name in the type's contract (`transactions`, `orders`). */
  name: string
  contract: RouteContract
  handler: RouteHandler
  pattern: RegExp
  /** Path parameter names, in order. */
  params: string[]
}

/** A route a request path matched, with its decoded path parameters. */
export interface MatchedRoute {
  route: CompiledRoute
  params: Record<string, string>
}

/**
 * Compile every configured type's routes. Two types may not claim the same path: which grant could
 * read it would depend on configuration order.
 */
export function compileRoutes(dataTypes: readonly DataType[]): CompiledRoute[] {
  const out: CompiledRoute[] = []
  const seen = new Map<string, string>()
  const types = new Set<string>()
  for (const dataType of dataTypes) {
    const type = dataType.detail.type
    if (types.has(type)) throw new ConfigError(`dataTypes: ${type} is configured twice`)
    types.add(type)
    for (const [name, contract] of Object.entries(dataType.detail.routes ?? {})) {
      const shape = contract.path.replace(/\{[^}]+\}/g, '{}')
      const other = seen.get(shape)
      if (other) throw new ConfigError(`dataTypes: ${type}.${name} and ${other} both claim ${contract.path}`)
      seen.set(shape, `${type}.${name}`)
      const params: string[] = []
      const source = contract.path.replace(/\{([^}]+)\}|[^{]+/g, (part, param: string | undefined) => {
        if (param === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        params.push(param)
        return '([^/]+)'
      })
      const handler = dataType.handlers[name]
      if (!handler) throw new ConfigError(`dataTypes: ${type} has no handler for route ${name}`)
      out.push({ dataType, name, contract, handler, pattern: new RegExp(`^${source}$`), params })
    }
  }
  return out
}

/**
 * The route a resource subpath names, or null. Parameters are percent-decoded; a malformed escape
 * is reported as `undefined` params so the caller can answer 400.
 */
export function matchRoute(
  routes: readonly CompiledRoute[],
  subpath: string,
): MatchedRoute | 'malformed' | null {
  for (const route of routes) {
    const m = route.pattern.exec(subpath)
    if (!m) continue
    const params: Record<string, string> = {}
    try {
      route.params.forEach((p, i) => {
        params[p] = decodeURIComponent(m[i + 1]!)
      })
    } catch {
      return 'malformed'
    }
    return { route, params }
  }
  return null
}
