// Files imported `with { type: "file" }` resolve to a path (embedded into the binary by `bun build --compile`).
declare module "*/standalone.js" {
  const path: string;
  export default path;
}
