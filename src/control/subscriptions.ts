/**
 * The agent's subscriptions as control clients change them. A client's `subscribe` (what `watch`
 * does) adds the pattern to the agent's subscriptions, so that peers send matching packets; when
 * the last client holding a pattern unsubscribes or disconnects, the pattern goes again, unless
 * the agent had it before any client asked (from its config or a --stdio supervisor) or its
 * config has it by then (a SIGHUP reload). So a client that goes away leaves the agent's
 * subscriptions as it found them. (A reload that removes a configured pattern a client is
 * watching removes it for the client too.)
 */
import type { Agent } from "../agent/agent.js";
import type { SessionSubscriptions } from "../stdio/session.js";

export class SharedSubscriptions {
  readonly #agent: Agent;
  /** patterns added for clients, with how many clients hold each */
  readonly #held = new Map<string, number>();

  constructor(agent: Agent) {
    this.#agent = agent;
  }

  /** The view one client's session uses. */
  forClient(): SessionSubscriptions {
    const mine = new Set<string>();
    return {
      subscribe: (pattern) => {
        if (mine.has(pattern)) return;
        mine.add(pattern);
        this.#hold(pattern);
      },
      unsubscribe: (pattern) => {
        if (!mine.delete(pattern)) return false;
        this.#drop(pattern);
        return true;
      },
      get patterns() {
        return [...mine];
      },
      release: () => {
        for (const p of mine) this.#drop(p);
        mine.clear();
      },
    };
  }

  /** Patterns added to the agent for clients (not those it had before), for tests and stats. */
  get held(): ReadonlyMap<string, number> {
    return this.#held;
  }

  #hold(pattern: string): void {
    const n = this.#held.get(pattern);
    if (n !== undefined) this.#held.set(pattern, n + 1);
    else if (!this.#agent.patterns.includes(pattern)) {
      this.#agent.subscribe(pattern); // throws for a bad pattern: nothing is held then
      this.#held.set(pattern, 1);
    }
  }

  #drop(pattern: string): void {
    const n = this.#held.get(pattern);
    if (n === undefined) return;
    if (n > 1) this.#held.set(pattern, n - 1);
    else {
      this.#held.delete(pattern);
      // A SIGHUP reload may have put it in the config meanwhile: then it is the config's now.
      if (!this.#agent.closed && !this.#agent.config.subscribe.includes(pattern)) this.#agent.unsubscribe(pattern);
    }
  }
}
