/** A data holder's branding for the pages. Colours are `#rgb` or `#rrggbb`; anything else is ignored. */
export interface Theme {
  /** The holder's name, shown in the header and page titles, e.g. "Harbor Pay". */
  name: string
  /** Logo shown next to the name (`https:`, a same-origin path, or a `data:image/…;base64` URL). */
  logoUrl?: string
  colors?: {
    /** Buttons, links, checkboxes. */
    primary?: string
    /** Page background. */
    background?: string
    /** Body text. */
    text?: string
    /** Highlights (the requesting app's name, focus ring). */
    accent?: string
  }
}

/** The default palette; every pair used for text meets WCAG AA (≥ 4.5:1). */
export const DEFAULT_COLORS = {
  primary: '#1d4ed8',
  background: '#f4f6fa',
  text: '#172033',
  accent: '#0f766e',
} as const

const HEX_COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/

/** `#rgb` / `#rrggbb` → lowercase `#rrggbb`, or `undefined` for anything else. */
export function parseHexColor(value: unknown): string | undefined {
  if (typeof value !== 'string' || !HEX_COLOR.test(value)) return undefined
  const hex = value.slice(1).toLowerCase()
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`
}

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(1 + i * 2, 3 + i * 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
}

/** WCAG 2 contrast ratio between two `#rgb`/`#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const la = luminance(parseHexColor(a) ?? '#000000')
  const lb = luminance(parseHexColor(b) ?? '#000000')
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05)
}

/** White or near-black, whichever reads better on `background`. */
export function readableOn(background: string): string {
  return contrastRatio('#ffffff', background) >= contrastRatio('#111827', background) ? '#ffffff' : '#111827'
}

/**
 * The holder's colours as a tiny stylesheet of custom properties, served next to the main stylesheet
 * (`{basePath}/assets/theme.css`). Only strictly valid hex colours are emitted, so nothing a theme holds
 * can inject CSS. Text on the primary colour is chosen automatically (white or near-black).
 *
 * @example
 * ```ts
 * themeStylesheet({ name: 'Harbor Pay', colors: { primary: '#0b5394' } })
 * // ":root{--c-primary:#0b5394;--c-on-primary:#ffffff;}\n"
 * ```
 */
export function themeStylesheet(theme: Theme): string {
  const colors = theme?.colors ?? {}
  const decls: string[] = []
  const primary = parseHexColor(colors.primary)
  if (primary) decls.push(`--c-primary:${primary}`, `--c-on-primary:${readableOn(primary)}`)
  const background = parseHexColor(colors.background)
  if (background) decls.push(`--c-bg:${background}`)
  const text = parseHexColor(colors.text)
  if (text) decls.push(`--c-text:${text}`)
  const accent = parseHexColor(colors.accent)
  if (accent) decls.push(`--c-accent:${accent}`)
  return decls.length ? `:root{${decls.map((d) => `${d};`).join('')}}\n` : '/* default theme */\n'
}
