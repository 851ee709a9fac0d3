/**
 * A binary heap whose items know their place in it (`i`), so that any item
 * can be removed, or moved after its key changed, in O(log n). The memory
 * backend removes a job from its heaps the moment it leaves them: no dead
 * entry outlives its job (lazy deletion kept finished jobs alive until their
 * old lease deadline, so held memory grew as throughput × leaseMs).
 * Private to backends/memory/; it knows nothing of jobs.
 *
 * @module
 */

/** An item's place in the heap that holds it; -1 when in none. */
export interface Slot {
  i: number;
}

/** A binary heap of slotted items: push, pop, remove, update in O(log n). */
export class Heap<T extends Slot> {
  #items: T[] = [];
  #less: (a: T, b: T) => boolean;

  /** Makes an empty heap ordered by `less` (the least item comes first). */
  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** How many items it holds. */
  get size(): number {
    return this.#items.length;
  }

  /** The least item, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item that is in no heap. */
  push(item: T): void {
    this.#items.push(item);
    this.#up(item, this.#items.length - 1);
  }

  /** Removes and returns the least item, or undefined. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  /** Removes an item if this heap holds it; true if it did. */
  remove(item: T): boolean {
    const i = item.i;
    if (i < 0 || this.#items[i] !== item) return false;
    this.#removeAt(i);
    return true;
  }

  /** Puts an item this heap holds back in order after its key changed. */
  update(item: T): void {
    const i = item.i;
    if (i < 0 || this.#items[i] !== item) return;
    this.#up(item, i);
    this.#down(item, item.i);
  }

  #removeAt(i: number): void {
    const items = this.#items;
    items[i]!.i = -1;
    const last = items.pop()!;
    if (i === items.length) return;
    this.#up(last, i);
    if (last.i === i) this.#down(last, i);
  }

  /** Places `item` at `i` or above, moving parents down. */
  #up(item: T, i: number): void {
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.#less(item, p)) break;
      items[i] = p;
      p.i = i;
      i = parent;
    }
    items[i] = item;
    item.i = i;
  }

  /** Places `item` at `i` or below, moving children up. */
  #down(item: T, i: number): void {
    const items = this.#items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.#less(items[r]!, items[l]!) ? r : l;
      const c = items[child]!;
      if (!this.#less(c, item)) break;
      items[i] = c;
      c.i = i;
      i = child;
    }
    items[i] = item;
    item.i = i;
  }
}
