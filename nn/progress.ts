// A one-line progress bar for terminals, with the loss and the time left; log lines print above it.

export class ProgressBar {
  private readonly start = performance.now();
  private line = "";
  /** `from` updates were done before this bar started (a resumed run): the time left counts only the new ones. */
  constructor(
    private readonly total: number,
    private readonly from = 0,
  ) {}

  update(done: number, loss: number): void {
    const width = 30;
    const filled = Math.round((width * done) / this.total);
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = done > this.from ? (elapsed / (done - this.from)) * (this.total - done) : 0;
    this.line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${this.total} loss ${loss.toFixed(4)} ETA ${eta.toFixed(1)}s`;
    process.stderr.write(`\r${this.line}\x1b[K`);
  }
  log(text: string): void {
    process.stderr.write(`\r\x1b[K${text}\n${this.line}`);
  }
  done(): void {
    process.stderr.write(`\r\x1b[K`);
  }
}
