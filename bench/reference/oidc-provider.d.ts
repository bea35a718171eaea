// oidc-provider ships no types; the benchmark uses a handful of its calls.
declare module 'oidc-provider' {
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module, used by the benchmark only
  const Provider: any
  export default Provider
}
