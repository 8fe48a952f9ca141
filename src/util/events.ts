// A typed wrapper over EventEmitter: listeners and emitters checked against one event map.
import { EventEmitter } from 'node:events';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: Listener }> {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(event: K, fn: Events[K]): this {
    this.emitter.on(event, fn);
    return this;
  }

  once<K extends keyof Events & string>(event: K, fn: Events[K]): this {
    this.emitter.once(event, fn);
    return this;
  }

  off<K extends keyof Events & string>(event: K, fn: Events[K]): this {
    this.emitter.off(event, fn);
    return this;
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Parameters<Events[K]>): void {
    this.emitter.emit(event, ...args);
  }
}
