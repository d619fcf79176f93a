// Symbolic sizes ("N" in trace({ x: ["N", 3] })) keep Shape a number[] everywhere: a symbol is
// recorded as a reserved representative size, a prime just below 2^20 that no real axis is
// expected to have, so every pass, shape rule and hash key carries it unchanged, and a dimension
// k * rep reads as k*N (a reshape to [N*3]). Nothing runs at the representative size: evaluate
// and compile bind the symbols from the inputs' shapes and specialise first (core/symbolic.ts).
// This module imports nothing, so tensor.ts can print [N,3].

const REPRESENTATIVES = [1048573, 1048571, 1048559, 1048549, 1048517, 1048507, 1048447, 1048433];
const byName = new Map<string, number>();
const byRep = new Map<number, string>();
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

/** The representative size of symbol `name`, reserving one the first time a name is used. */
export function symbolSize(name: string): number {
  const hit = byName.get(name);
  if (hit !== undefined) return hit;
  if (typeof name !== "string" || !NAME.test(name))
    throw new Error(`a symbolic size needs an identifier name (a letter or _, then letters, digits or _), got ${JSON.stringify(name)}`);
  const rep = REPRESENTATIVES.find((r) => !byRep.has(r));
  if (rep === undefined) throw new Error(`at most ${REPRESENTATIVES.length} symbolic sizes (${[...byName.keys()].join(", ")} are taken)`);
  byName.set(name, rep);
  byRep.set(rep, name);
  return rep;
}

/** The symbols reserved so far, to roll back to if what reserves more fails (a rejected file). */
export const reservedSymbols = (): ReadonlySet<string> => new Set(byName.keys());

/** Release every symbol reserved since `before` (reservedSymbols()): a failed read leaves the table as it was. */
export function releaseSymbolsSince(before: ReadonlySet<string>): void {
  for (const [name, rep] of byName) {
    if (before.has(name)) continue;
    byName.delete(name);
    byRep.delete(rep);
  }
}

/** Whether `rep` is one of the representative sizes symbols are given (a file's "symbols" must use them). */
export const isRepresentative = (rep: number): boolean => REPRESENTATIVES.includes(rep);

/**
 * The representative a concrete size would be read as (k * rep), reserved or not, or undefined.
 * A concrete axis of that size is refused where sizes enter (trace, fromJSON, symbol binding):
 * the printer, export and specialisation would read it as a symbol.
 */
export function representativeOf(d: number): number | undefined {
  if (!(d >= REPRESENTATIVES[REPRESENTATIVES.length - 1])) return undefined;
  return REPRESENTATIVES.find((rep) => d % rep === 0 && d / rep < rep);
}

/** The symbol a dimension stands for, as k * symbol; undefined for a concrete size. */
export function symbolOf(d: number): { name: string; k: number } | undefined {
  if (d < REPRESENTATIVES[REPRESENTATIVES.length - 1]) return undefined;
  for (const [rep, name] of byRep) {
    if (d % rep === 0 && d / rep < rep) return { name, k: d / rep };
  }
  return undefined;
}

/** A dimension as the printer shows it: 3, N or 3N. */
export function dimStr(d: number): string {
  const s = byRep.size ? symbolOf(d) : undefined;
  if (!s) return String(d);
  return s.k === 1 ? s.name : `${s.k}${s.name}`;
}
