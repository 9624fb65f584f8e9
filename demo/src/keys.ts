// Single-key actions while the live view runs (stdin in raw mode): kill/restart a backend, toggle a fault, quit.

export interface KeyActions {
  kill(): void;
  restart(): void;
  fault(): void;
  quit(): void;
}

/** Listens for k, r, f, q and Ctrl-C on a TTY stdin; returns a function that restores the terminal. */
export function listenForKeys(actions: KeyActions): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  // A chunk may hold several keys (typed fast, or pasted).
  const onData = (chunk: string): void => {
    for (const key of chunk) {
      if (key === 'k') actions.kill();
      else if (key === 'r') actions.restart();
      else if (key === 'f') actions.fault();
      else if (key === 'q' || key === '\u0003') actions.quit();
    }
  };
  stdin.on('data', onData);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
}
