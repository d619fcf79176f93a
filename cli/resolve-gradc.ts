// A module resolve hook (node:module register): inside a user's module, `import ... from "gradc"`
// means the gradc that is running it. Wherever the module lives (a directory with no
// node_modules, or one holding another copy of gradc), it gets this copy, so the Graph it exports
// is built from the same classes and op registry the command checks and compiles with.

interface HookData {
  gradcUrl: string;
}

let gradcUrl = "";

export function initialize(data: HookData): void {
  gradcUrl = data.gradcUrl;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === "gradc" && gradcUrl) return { url: gradcUrl, shortCircuit: true };
  return next(specifier, context);
}
