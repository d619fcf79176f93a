// Exact coefficients: mean's 1/N times a broadcast's N must give exactly 1, or centered sums
// (sum(x - mean(x))) would leave a 1e-16 residue instead of cancelling.

export class Coef {
  private constructor(
    readonly n: number,
    readonly d: number, // 0 marks an inexact (floating) coefficient stored in n
  ) {}

  static of(v: number): Coef {
    // 1/Infinity is 0, an exact integer, but Infinity is no exact reciprocal of anything
    if (!Number.isFinite(v)) return new Coef(v, 0);
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return new Coef(v, 1);
    const inv = 1 / v;
    if (Number.isInteger(inv) && Math.abs(inv) < 2 ** 31 && 1 / inv === v) return new Coef(Math.sign(inv), Math.abs(inv));
    return new Coef(v, 0);
  }
  static readonly one = new Coef(1, 1);
  static readonly zero = new Coef(0, 1);

  get exact(): boolean {
    return this.d !== 0;
  }
  get value(): number {
    return this.d === 0 ? this.n : this.n / this.d;
  }
  get isZero(): boolean {
    return this.n === 0;
  }
  get isOne(): boolean {
    return this.value === 1;
  }
  mul(o: Coef): Coef {
    if (this.exact && o.exact) return Coef.ratio(this.n * o.n, this.d * o.d);
    return new Coef(this.value * o.value, 0);
  }
  add(o: Coef): Coef {
    if (this.exact && o.exact) return Coef.ratio(this.n * o.d + o.n * this.d, this.d * o.d);
    return Coef.of(this.value + o.value);
  }
  inverse(): Coef {
    return this.exact ? Coef.ratio(this.d * Math.sign(this.n), Math.abs(this.n)) : new Coef(1 / this.n, 0);
  }
  neg(): Coef {
    return new Coef(-this.n, this.d);
  }
  abs(): Coef {
    return new Coef(Math.abs(this.n), this.d);
  }
  /** This coefficient divided by `o`, if that is an integer. */
  multipleOf(o: Coef): number | null {
    const q = this.mul(o.inverse());
    return q.exact && q.d === 1 ? q.n : null;
  }

  private static ratio(n: number, d: number): Coef {
    if (d === 0) return new Coef(n === 0 ? NaN : n * Infinity, 0);
    const g = gcd(Math.abs(n), Math.abs(d)) || 1;
    const [p, q] = [(n / g) * Math.sign(d), Math.abs(d) / g];
    return Math.abs(p) < 2 ** 40 && q < 2 ** 40 ? new Coef(p, q) : new Coef(p / q, 0);
  }
  toString(): string {
    return this.d === 1 || this.d === 0 ? String(this.n) : `${this.n}/${this.d}`;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
