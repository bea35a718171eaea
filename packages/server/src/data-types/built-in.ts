import type { DataSource } from '../resource/data-source.ts'
import { affordabilitySummaryDataType, type InsightsOptions } from './affordability-summary.ts'
import type { DataType } from './define.ts'
import { transactionHistoryDataType } from './transaction-history.ts'

/** The data types a holder's {@link DataSource} serves without further configuration. */
export function builtInDataTypes(source: DataSource, insights: InsightsOptions = {}): DataType[] {
  return [transactionHistoryDataType(source), affordabilitySummaryDataType(source, insights)]
}
