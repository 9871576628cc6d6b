// One vitest run covers every package and example; each project keeps its own vitest.config.ts.
export default ["packages/*", "examples/*"]
