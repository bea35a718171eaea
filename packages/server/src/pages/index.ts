/**
 * Server-rendered pages as pure functions: view model in, complete HTML out. No scripts, no inline
 * styles (CSP `default-src 'none'; style-src 'self'`); every interpolation is escaped.
 */

export { type ChangeFormView, renderChangeForm } from './change.ts'
export {
  type Choice,
  type ConsentSection,
  type ConsentView,
  consentSection,
  renderConsentPage,
  renderDetailControls,
  renderSelect,
} from './consent.ts'
export {
  type DashboardView,
  detailFacts,
  type Fact,
  type GrantSummary,
  renderDashboard,
} from './dashboard.ts'
export {
  type AccessLogEntry,
  type GrantDetailView,
  type RevokeConfirmView,
  renderGrantDetail,
  renderRevokeConfirm,
} from './grant-detail.ts'
export { escapeAttr, escapeHtml, html, SafeHtml, safeUrl } from './html.ts'
export {
  DATATYPE_LABELS,
  datatypeLabel,
  FIELD_LABELS,
  fieldLabel,
  readsPerDayText,
  STATUS_LABELS,
  statusLabel,
} from './labels.ts'
export { type LayoutView, renderLayout } from './layout.ts'
export { type LoginView, renderLoginPage } from './login.ts'
export { type MessageView, renderMessagePage } from './message.ts'
export { STYLESHEET } from './stylesheet.ts'
export {
  contrastRatio,
  DEFAULT_COLORS,
  parseHexColor,
  readableOn,
  type Theme,
  themeStylesheet,
} from './theme.ts'
