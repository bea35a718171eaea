/**
 * RFC 8785 JSON Canonicalization Scheme for the values Consentry hashes: objects with sorted keys,
 * no whitespace, ECMAScript number and string serialisation. `undefined` members are dropped.
 *
 * Keys sort by UTF-16 code units (RFC 8785 §3.2.3), which is what `Array.prototype.sort` does to
 * strings by default; one string is built per object and array, without intermediate entry arrays.
 */
export function canonicalize(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('cannot canonicalize a non-finite number')
      return JSON.stringify(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          const v: unknown = value[i]
          out += (i === 0 ? '' : ',') + canonicalize(v === undefined ? null : v)
        }
        return `${out}]`
      }
      const record = value as Record<string, unknown>
      let out = '{'
      for (const key of Object.keys(record).sort()) {
        const v = record[key]
        if (v === undefined) continue
        out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalize(v)}`
      }
      return `${out}}`
    }
    default:
      throw new TypeError(`cannot canonicalize a ${typeof value}`)
  }
}
