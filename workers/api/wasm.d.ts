// WebAssembly modules imported by the Worker: wrangler (and the test pool) hand them over compiled
// (the CompiledWasm module rule), because Workers refuse WebAssembly.compile() of bytes at runtime.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
