// The streaming bandwidth probe: the practical limit for the batchnorm backward on this machine.
// It moves the same bytes as the two fused sweeps, with as little arithmetic as possible:
// sweep 1 reads dout and xhat (accumulating per column, the reduction's access pattern),
// sweep 2 reads them again and writes one [N, D] array. Specialized like a generated kernel.

export interface ProbeBuffers {
  a: Float64Array;
  b: Float64Array;
  out: Float64Array;
  acc: Float64Array;
}

/** Bytes one call moves: 2 arrays read, then 2 read and 1 written, each N*D float64. */
export const probeBytes = (N: number, D: number): number => 5 * 8 * N * D;

export function specializeProbe(N: number, D: number, buf: ProbeBuffers): () => void {
  if (![N, D].every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error(`bench/probe: bad sizes ${N}, ${D}`);
  const source = `
return function probe() {
  for (let j = 0; j < ${D}; j++) acc[j] = 0;
  for (let i = 0; i < ${N}; i++) {
    const row = i * ${D};
    for (let j = 0; j < ${D}; j++) acc[j] += a[row + j] + b[row + j];
  }
  for (let k = 0; k < ${N * D}; k++) out[k] = a[k] + b[k];
};`;
  return new Function("a", "b", "out", "acc", source)(buf.a, buf.b, buf.out, buf.acc) as () => void;
}
