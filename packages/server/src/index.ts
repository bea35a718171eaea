export * from './store/store.ts'
export { memoryStore } from './store/memory.ts'
