// How many bytes of upstream answers the process holds at once. A Prometheus answer costs
// several times its size while it is decoded and parsed (tools/large-answers.ts measures it),
// so a few large answers at once would outgrow a container's memory limit; past this budget a
// call is refused at once instead, and the memory it would have used is never allocated.

/** The process's budget, shared by every request of the one Prometheus client. */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** A claim on this budget for one request, grown as its answer streams in. */
  hold(): BudgetHold {
    return new BudgetHold((n) => this.take(n), (n) => this.give(n));
  }

  private take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  private give(n: number): void {
    this.used -= n;
  }
}

export class BudgetHold {
  private held = 0;

  constructor(
    private readonly takeFromBudget: (n: number) => boolean,
    private readonly giveToBudget: (n: number) => void,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /** Holds `n` more bytes if the budget has them; false (and nothing held) when it does not. */
  take(n: number): boolean {
    if (!this.takeFromBudget(n)) return false;
    this.held += n;
    return true;
  }

  /** Gives back everything held: the answer was refused, or it has been parsed and shaped. */
  release(): void {
    this.giveToBudget(this.held);
    this.held = 0;
  }
}
