import { isIP } from 'node:net'
import { ProblemError } from '../errors.ts'

/** Present when the person is at the recipient's app right now (FAPI): such reads are not unattended. */
export const CUSTOMER_PRESENT = 'x-fapi-customer-ip-address'

/**
 * check_customer_present: `x-fapi-customer-ip-address` (FAPI 1.0 Baseline §6.2.2.4) marks a read as
 * *attended*. Its value must be one IP address — IPv4 dotted quad or IPv6 (RFC 4291) text form, no
 * zone — else 400 `invalid_parameter`; a repeated header arrives comma-joined and is refused too.
 */
export function checkCustomerPresent(request: Request): boolean {
  const value = request.headers.get(CUSTOMER_PRESENT)
  if (value === null) return false
  if (value.length > 45 || value.includes('%') || isIP(value) === 0)
    throw new ProblemError(
      'invalid_parameter',
      `${CUSTOMER_PRESENT} must be one IPv4 or IPv6 address (the person's, when they are present)`,
    )
  return true
}
