import { describe, expect, it } from 'vitest'
import { canonicalize } from '../src/index.ts'

describe('canonicalize (RFC 8785)', () => {
  it('gives the JCS test data output for its "values" input (literals, numbers, string escapes)', () => {
    const input =
      '{"numbers": [1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
      '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}'
    expect(canonicalize(JSON.parse(input))).toBe(
      '{"literals":[null,true,false],"numbers":[1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    )
  })

  it('sorts members by UTF-16 code units, not code points or locale (§3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // Read the order from the text: JSON.parse would put the integer-like "1" first whatever it says.
    const order = [...canonicalize(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) =>
      JSON.parse(`"${m[1]}"`),
    )
    expect(order).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'])
  })

  it('serialises numbers as ECMAScript does (Appendix B), from their JSON text', () => {
    const cases: [string, string][] = [
      ['0', '0'],
      ['-0', '0'],
      ['333333333.33333329', '333333333.3333333'],
      ['1E21', '1e+21'],
      ['1e-7', '1e-7'],
      ['9007199254740992', '9007199254740992'],
      ['295147905179352830000', '295147905179352830000'],
      ['-5e-324', '-5e-324'],
    ]
    for (const [text, canonical] of cases) expect(canonicalize(JSON.parse(text))).toBe(canonical)
  })

  it('drops undefined members, writes undefined array elements as null, and has no whitespace', () => {
    expect(canonicalize({ b: [1, undefined, { d: undefined, c: 'x' }], a: undefined })).toBe(
      '{"b":[1,null,{"c":"x"}]}',
    )
    expect(canonicalize([])).toBe('[]')
    expect(canonicalize({})).toBe('{}')
  })

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError)
    expect(() => canonicalize(Number.POSITIVE_INFINITY)).toThrow(TypeError)
    expect(() => canonicalize(1n)).toThrow(TypeError)
    expect(() => canonicalize(undefined)).toThrow(TypeError)
    expect(() => canonicalize({ f: () => 1 })).toThrow(TypeError)
  })
})
