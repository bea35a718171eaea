/**
 * The one escaping primitive of the pages, and a tagged template that applies it to every
 * interpolation. Templates only ever put interpolations in text or in double-quoted attribute values,
 * and {@link escapeHtml} is safe in both.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}

/** Escape text for HTML text content and for double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!)
}

/** Escape an attribute value. Same as {@link escapeHtml}; named for readability at call sites. */
export const escapeAttr: (value: unknown) => string = escapeHtml

/** Markup that is already safe (produced by {@link html}); never build one from outside input. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[]

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(value)
}

/**
 * Tagged template: every `${value}` is escaped unless it is a {@link SafeHtml} (a fragment built by
 * this same tag). Arrays are concatenated; `null`, `undefined` and `false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new SafeHtml(out)
}

/**
 * A URL that is safe to put in `href`, `src` or `action`: an absolute `https:`/`http:` URL or a
 * relative reference (`/…`, `./…`, `?…`, `#…`; not `//host`). Anything else (`javascript:`, `data:`…) gives
 * `undefined`. `allowDataImage` admits `data:image/png|jpeg|gif|webp;base64,…` for logos.
 */
export function safeUrl(
  value: string | undefined,
  opts: { allowDataImage?: boolean } = {},
): string | undefined {
  if (!value || typeof value !== 'string' || value.length > 4096) return undefined
  // Browsers strip ASCII tab/newline inside URLs and leading C0/space; reject rather than normalise.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject them
  if (/[\u0000-\u001f\u007f\s\\]/.test(value)) return undefined
  // A relative reference with no scheme (`/path`, `./x`, `x/y`, `?q`, `#f`) — but not `//host`.
  if (!value.startsWith('//') && !/^[^/?#]*:/.test(value)) return value
  if (opts.allowDataImage && /^data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(value))
    return value
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : undefined
  } catch {
    return undefined
  }
}
