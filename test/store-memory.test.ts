import { memoryStore } from '@consentry/server'
import { describeStoreConformance } from './store-conformance.ts'

describeStoreConformance('memory', async () => memoryStore())
