// Earliest-deadline-first scheduler (Envoy's EdfScheduler): weighted picks where each entry's weight may change per pick.

/** One scheduled item; entries are reused across picks (no allocation per pick). */
export interface EdfEntry<T> {
  readonly item: T;
  deadline: number;
  /** Insertion order, breaking deadline ties first-in first-out. */
  order: number;
}

/**
 * A binary min-heap on (deadline, order). An item of weight w is due 1/w after the current time, so over time it is
 * popped in proportion to w; re-adding a popped entry with a new weight (least request's weight / (active + 1))
 * shifts it for its next turn only, which is how Envoy applies changing weights.
 */
export class EdfScheduler<T> {
  private heap: EdfEntry<T>[] = [];
  private now = 0;
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds an item due `1/weight` from now, plus `offset` of that period (a random start spreads a fleet). */
  add(item: T, weight: number, offset = 0): EdfEntry<T> {
    const entry: EdfEntry<T> = { item, deadline: this.now + (1 + offset) / weight, order: this.order++ };
    this.push(entry);
    return entry;
  }

  /** Removes and returns the earliest entry (the scheduler's time does not move until readd). */
  pop(): EdfEntry<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as EdfEntry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Puts back a popped entry that was picked: time advances to its deadline, next turn 1/weight later. */
  readd(entry: EdfEntry<T>, weight: number): void {
    this.now = Math.max(this.now, entry.deadline);
    entry.deadline = this.now + 1 / weight;
    entry.order = this.order++;
    this.push(entry);
  }

  /** Puts back a popped entry that was skipped (avoided, unhealthy), keeping its place. */
  restore(entry: EdfEntry<T>): void {
    this.push(entry);
  }

  clear(): void {
    this.heap = [];
    this.now = 0;
    this.order = 0;
  }

  private push(entry: EdfEntry<T>): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as EdfEntry<T>)) break;
      heap[i] = heap[parent] as EdfEntry<T>;
      i = parent;
    }
    heap[i] = entry;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i] as EdfEntry<T>;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(heap[right] as EdfEntry<T>, heap[child] as EdfEntry<T>)) child = right;
      if (!before(heap[child] as EdfEntry<T>, entry)) break;
      heap[i] = heap[child] as EdfEntry<T>;
      i = child;
    }
    heap[i] = entry;
  }
}

function before<T>(a: EdfEntry<T>, b: EdfEntry<T>): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
}
