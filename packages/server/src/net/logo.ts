import { type EgressOptions, guardedFetch } from './guarded-fetch.ts'

/** Largest `logo_uri` image kept. */
export const LOGO_MAX_BYTES = 256 * 1024

/**
 * Raster formats accepted, each with the signature its first bytes must carry. No SVG: it is a
 * document that can carry script and external references, and sanitising it is a project of its own.
 */
const SIGNATURES: Record<string, (b: Uint8Array) => boolean> = {
  'image/png': (b) => starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': (b) => starts(b, [0xff, 0xd8, 0xff]),
  'image/gif': (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a'),
  'image/webp': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
}

const starts = (b: Uint8Array, sig: number[]) => sig.every((x, i) => b[i] === x)
const ascii = (b: Uint8Array, at: number, text: string) =>
  [...text].every((c, i) => b[at + i] === c.charCodeAt(0))

/** The media type whose signature `bytes` carry, if it is one of the accepted raster formats. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  return Object.keys(SIGNATURES).find((type) => SIGNATURES[type]!(bytes))
}

/**
 * Fetch a recipient's `logo_uri` once, through the guarded fetch: 200, at most 256 KiB, a declared
 * `Content-Type` of PNG, JPEG, GIF or WebP whose signature the bytes actually carry. `null` for
 * anything else (the pages then show the initial-letter mark).
 */
export async function fetchLogo(
  uri: string,
  egress: EgressOptions,
): Promise<{ contentType: string; bytes: Uint8Array } | null> {
  try {
    const res = await guardedFetch(
      uri,
      { headers: { accept: Object.keys(SIGNATURES).join(', ') }, maxBytes: LOGO_MAX_BYTES },
      egress,
    )
    const declared = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase()
    if (res.status !== 200 || !SIGNATURES[declared]?.(res.body)) return null
    return { contentType: declared, bytes: res.body }
  } catch {
    return null
  }
}
